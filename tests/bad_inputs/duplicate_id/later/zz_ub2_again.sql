-- revision: ub2
-- down_revision: ua1

-- migrate:upgrade
SELECT 1;
