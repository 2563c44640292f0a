-- revision: 5e8b3d1c7f46
-- down_revision: c94a2f7e5d10
-- branch_labels: billing
-- message: create plans
-- create_date: 2026-03-02 10:05:31
-- transactional: true

-- migrate:upgrade
-- Start of the billing branch: plans, subscriptions, invoices.
CREATE TABLE plans (
    code               text PRIMARY KEY,
    name               text NOT NULL,
    description        text NOT NULL DEFAULT '',
    monthly_price_cents bigint NOT NULL CHECK (monthly_price_cents >= 0),
    max_seats          integer CHECK (max_seats IS NULL OR max_seats > 0)
);

INSERT INTO plans (code, name, description, monthly_price_cents, max_seats) VALUES
    ('free', 'Free', 'Up to 3 seats; community support', 0, 3),
    ('team', 'Team', 'Up to 25 seats; email support; SSO', 4900, 25),
    ('enterprise', 'Enterprise', E'Unlimited seats;\nSLA and a named contact', 49900, NULL);

-- migrate:downgrade
DROP TABLE plans;
