-- revision: 9b1f6e3a8c27
-- down_revision: 7a4d2c9e1f60
-- message: create invoice_lines with a total-keeping trigger
-- create_date: 2026-03-12 17:21:06
-- transactional: true

-- migrate:upgrade
CREATE TABLE invoice_lines (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id         bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    description        text NOT NULL,
    quantity           integer NOT NULL CHECK (quantity > 0),
    unit_amount_cents  bigint NOT NULL,
    line_total_cents   bigint GENERATED ALWAYS AS (quantity * unit_amount_cents) STORED
);

CREATE INDEX invoice_lines_invoice_id_idx ON invoice_lines (invoice_id);

-- Keeps invoices.total_cents equal to the sum of its lines. The body is
-- dollar-quoted: its semicolons end plpgsql statements, not SQL ones.
CREATE FUNCTION invoice_lines_refresh_total() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    target_invoice bigint;
    new_total      bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        target_invoice := OLD.invoice_id;
    ELSE
        target_invoice := NEW.invoice_id;
    END IF;

    SELECT coalesce(sum(line_total_cents), 0) INTO new_total
      FROM invoice_lines
     WHERE invoice_id = target_invoice;

    UPDATE invoices SET total_cents = new_total WHERE id = target_invoice;
    RAISE NOTICE 'invoice %: total is now % cents; recomputed after %', target_invoice, new_total, TG_OP;
    RETURN NULL;  -- AFTER trigger: the return value is ignored
END;
$fn$;

CREATE TRIGGER invoice_lines_refresh_total
    AFTER INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_refresh_total();

-- migrate:downgrade
DROP TRIGGER invoice_lines_refresh_total ON invoice_lines;
DROP FUNCTION invoice_lines_refresh_total();
DROP INDEX invoice_lines_invoice_id_idx;
DROP TABLE invoice_lines;
