-- revision: 2d7c4b9f0e13
-- down_revision: c94a2f7e5d10
-- branch_labels: audit
-- message: create audit_log
-- create_date: 2026-03-05 08:49:17
-- transactional: true

-- migrate:upgrade
-- Start of the audit branch: an append-only log of row changes.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name  text NOT NULL,
    operation   text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_data    jsonb NOT NULL,
    changed_by  text NOT NULL DEFAULT current_user,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE audit_log IS 'Append-only; rows are never updated; see audit_row_change()';

-- migrate:downgrade
DROP TABLE audit_log;
