-- revision: b8e4f0a3c6d9
-- down_revision: 9b1f6e3a8c27, 6c9d1a5e7b82
-- message: merge billing and audit
-- create_date: 2026-03-20 15:00:00
-- transactional: true

-- migrate:upgrade
-- A pure merge point: joins the billing and audit heads; no SQL of its own.

-- migrate:downgrade
-- Nothing to undo; downgrading past this revision splits the heads again.
