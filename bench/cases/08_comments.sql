-- Comments set, changed and removed on a schema, table, column, view,
-- index, constraint, function, type, sequence and trigger.
-- before
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'money';
CREATE TYPE plan AS ENUM ('free', 'pro');
CREATE SEQUENCE billing.receipt_no;
CREATE TABLE accounts (
  id int PRIMARY KEY,
  plan plan NOT NULL DEFAULT 'free',
  email text NOT NULL CONSTRAINT accounts_email_check CHECK (email LIKE '%@%')
);
CREATE INDEX accounts_plan_idx ON accounts (plan);
CREATE VIEW pro_accounts AS SELECT id, email FROM accounts WHERE plan = 'pro';
CREATE FUNCTION account_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM accounts';
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER accounts_stamp BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION stamp();
COMMENT ON TABLE accounts IS 'customers';
COMMENT ON COLUMN accounts.email IS 'login email';
-- after
CREATE SCHEMA billing;
COMMENT ON SCHEMA billing IS 'invoices and receipts';
CREATE TYPE plan AS ENUM ('free', 'pro');
CREATE SEQUENCE billing.receipt_no;
CREATE TABLE accounts (
  id int PRIMARY KEY,
  plan plan NOT NULL DEFAULT 'free',
  email text NOT NULL CONSTRAINT accounts_email_check CHECK (email LIKE '%@%')
);
CREATE INDEX accounts_plan_idx ON accounts (plan);
CREATE VIEW pro_accounts AS SELECT id, email FROM accounts WHERE plan = 'pro';
CREATE FUNCTION account_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM accounts';
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER accounts_stamp BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION stamp();
COMMENT ON TABLE accounts IS 'paying and free customers';
COMMENT ON COLUMN accounts.plan IS 'what they pay for';
COMMENT ON VIEW pro_accounts IS 'accounts on the pro plan';
COMMENT ON INDEX accounts_plan_idx IS 'for the plan report';
COMMENT ON CONSTRAINT accounts_email_check ON accounts IS 'cheap sanity check';
COMMENT ON FUNCTION account_count() IS 'for the dashboard';
COMMENT ON TYPE plan IS 'price tiers';
COMMENT ON SEQUENCE billing.receipt_no IS 'gapless is not promised';
COMMENT ON TRIGGER accounts_stamp ON accounts IS 'keeps updated_at';
