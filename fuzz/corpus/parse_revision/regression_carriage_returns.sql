-- revision: a1
-- message: xy
-- migrate:upgrade
SELECT 1;
