-- revision: 4f1c8a2e9b07
-- down_revision:
-- message: create accounts
-- create_date: 2026-01-12 09:14:03
-- transactional: true

-- migrate:upgrade
-- Accounts are the tenants: one row per customer organisation; every other
-- table hangs off this one.
CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    -- url-safe; lowercase letters, digits and dashes only
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE accounts IS 'Tenants; one row per customer organisation';

-- migrate:downgrade
DROP TABLE accounts;
