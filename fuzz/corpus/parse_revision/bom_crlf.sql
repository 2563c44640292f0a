-- revision: a1

-- migrate:upgrade
SELECT 1;
-- migrate:downgrade
