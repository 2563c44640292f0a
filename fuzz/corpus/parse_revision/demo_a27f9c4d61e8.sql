-- revision: a27f9c4d61e8
-- down_revision: 8d3e6b1a0c54
-- message: create memberships
-- create_date: 2026-01-19 16:02:45
-- transactional: true

-- migrate:upgrade
CREATE TYPE membership_role AS ENUM ('owner', 'admin', 'member');

CREATE TABLE memberships (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        membership_role NOT NULL DEFAULT 'member',
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id)
);

-- The primary key already serves lookups by account; this one serves
-- "which accounts does this user belong to?".
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

-- migrate:downgrade
DROP INDEX memberships_user_id_idx;
DROP TABLE memberships;
DROP TYPE membership_role;
