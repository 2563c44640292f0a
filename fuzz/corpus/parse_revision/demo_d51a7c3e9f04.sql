-- revision: d51a7c3e9f04
-- down_revision: b8e4f0a3c6d9
-- message: index invoices and audit_log concurrently
-- create_date: 2026-04-08 22:31:15
-- transactional: false

-- migrate:upgrade
-- CONCURRENTLY cannot run inside a transaction block, hence transactional:
-- false; each statement runs on its own. IF NOT EXISTS makes a re-run after a
-- partial failure safe; an INVALID index left by a failed build must be dropped
-- by hand first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_account_issued_idx
    ON invoices (account_id, issued_at DESC);

CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_table_changed_idx
    ON audit_log (table_name, changed_at);

-- migrate:downgrade
DROP INDEX CONCURRENTLY IF EXISTS audit_log_table_changed_idx;
DROP INDEX CONCURRENTLY IF EXISTS invoices_account_issued_idx;
