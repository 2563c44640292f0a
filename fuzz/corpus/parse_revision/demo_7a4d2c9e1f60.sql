-- revision: 7a4d2c9e1f60
-- down_revision: e03c7a9b2d81
-- message: create invoices
-- create_date: 2026-03-11 09:58:44
-- transactional: true

-- migrate:upgrade
CREATE TYPE invoice_status AS ENUM ('draft', 'open', 'paid', 'void');

CREATE TABLE invoices (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts (id),
    subscription_id  bigint REFERENCES subscriptions (id) ON DELETE SET NULL,
    number           text NOT NULL UNIQUE,  -- e.g. 'INV-2026-000123'; never reused
    status           invoice_status NOT NULL DEFAULT 'draft',
    currency         char(3) NOT NULL DEFAULT 'EUR',
    total_cents      bigint NOT NULL DEFAULT 0,
    issued_at        timestamptz,
    due_at           timestamptz,
    CHECK (due_at IS NULL OR issued_at IS NULL OR due_at >= issued_at)
);

-- migrate:downgrade
DROP TABLE invoices;
DROP TYPE invoice_status;
