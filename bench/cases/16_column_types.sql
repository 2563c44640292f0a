-- Key columns widened int to bigint on both ends of a foreign key,
-- varchar(n) to text, numeric precision raised, text to a timestamp.
-- before
CREATE TABLE accounts (id int PRIMARY KEY, handle varchar(30) NOT NULL, balance numeric(10, 2) NOT NULL DEFAULT 0);
CREATE TABLE transfers (
  id int PRIMARY KEY,
  account_id int NOT NULL REFERENCES accounts (id),
  amount numeric(10, 2) NOT NULL,
  memo varchar(140),
  booked_on text
);
CREATE INDEX transfers_account_idx ON transfers (account_id);
-- after
CREATE TABLE accounts (id bigint PRIMARY KEY, handle text NOT NULL, balance numeric(14, 2) NOT NULL DEFAULT 0);
CREATE TABLE transfers (
  id bigint PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  amount numeric(14, 2) NOT NULL,
  memo text,
  booked_on date
);
CREATE INDEX transfers_account_idx ON transfers (account_id);
-- rows before
INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 5);
INSERT INTO transfers VALUES (1, 1, 10.25, 'rent', '2026-03-01');
-- rows after
INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 5);
INSERT INTO transfers VALUES (1, 1, 10.25, 'rent', '2026-03-01');
