-- revision: f6a0e2c8b435
-- down_revision: 2d7c4b9f0e13
-- message: audit accounts and memberships
-- create_date: 2026-03-06 13:12:58
-- transactional: true

-- migrate:upgrade
CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO audit_log (table_name, operation, row_data)
    VALUES (TG_TABLE_NAME, TG_OP,
            CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    IF TG_OP = 'DELETE' THEN
        RAISE NOTICE 'audit: row deleted from %; its last state is kept in audit_log', TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END;
$fn$;

CREATE TRIGGER accounts_audit
    AFTER INSERT OR UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

CREATE TRIGGER memberships_audit
    AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- migrate:downgrade
DROP TRIGGER memberships_audit ON memberships;
DROP TRIGGER accounts_audit ON accounts;
DROP FUNCTION audit_row_change();
