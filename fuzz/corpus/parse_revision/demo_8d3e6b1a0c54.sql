-- revision: 8d3e6b1a0c54
-- down_revision: 4f1c8a2e9b07
-- message: create users
-- create_date: 2026-01-12 09:41:27
-- transactional: true

-- migrate:upgrade
CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL CHECK (position('@' IN email) > 1),
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);

/* Emails compare case-insensitively: "Ada@Example.com" and "ada@example.com"
   are the same person; the unique index on lower(email) enforces that. */
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

COMMENT ON COLUMN users.password_hash IS 'argon2id hash; NULL for SSO-only users';

-- migrate:downgrade
DROP INDEX users_email_lower_key;
DROP TABLE users;
