-- revision: a1
-- migrate:upgrade
CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;
DO $body$ BEGIN RAISE NOTICE $$x;$$; END $body$;
-- migrate:downgrade
DROP FUNCTION f /* a /* nested */ comment */;
