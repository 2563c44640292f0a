-- revision: a1

-- migrate:upgrade
CREATE TABLE t_header_after_sql (id int);
-- depends_on: zz99

-- migrate:downgrade
DROP TABLE t_header_after_sql;
