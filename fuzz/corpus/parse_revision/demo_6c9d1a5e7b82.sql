-- revision: 6c9d1a5e7b82
-- down_revision: f6a0e2c8b435
-- depends_on: 7a4d2c9e1f60
-- message: audit invoices
-- create_date: 2026-03-16 10:26:40
-- transactional: true

-- migrate:upgrade
-- Needs the invoices table from the billing branch (hence depends_on), but
-- stays on the audit branch.
CREATE TRIGGER invoices_audit
    AFTER INSERT OR UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- migrate:downgrade
DROP TRIGGER invoices_audit ON invoices;
