-- revision: a1

-- migrate:upgrade
CREATE TABLE t_unterminated_dollar_quote (id int);

CREATE FUNCTION f_unterminated() RETURNS int LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN 1;
END;
$fnx$;

-- migrate:downgrade
DROP FUNCTION f_unterminated();
DROP TABLE t_unterminated_dollar_quote;
