-- revision: a1
CREATE TABLE t_sql_before_marker (id int);
-- down_revision:

-- migrate:upgrade
SELECT 1;
