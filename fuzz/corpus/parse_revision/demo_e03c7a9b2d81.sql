-- revision: e03c7a9b2d81
-- down_revision: 5e8b3d1c7f46
-- message: create subscriptions
-- create_date: 2026-03-04 14:37:09
-- transactional: true

-- migrate:upgrade
CREATE TABLE subscriptions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    plan_code    text NOT NULL REFERENCES plans (code),
    status       text NOT NULL DEFAULT 'trialing'
                 CHECK (status IN ('trialing', 'active', 'past_due', 'canceled')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    canceled_at  timestamptz,
    CHECK ((status = 'canceled') = (canceled_at IS NOT NULL))
);

-- At most one live subscription per account; canceled ones are history.
CREATE UNIQUE INDEX subscriptions_one_live_per_account
    ON subscriptions (account_id) WHERE status <> 'canceled';

-- migrate:downgrade
DROP INDEX subscriptions_one_live_per_account;
DROP TABLE subscriptions;
