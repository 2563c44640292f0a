-- revision: db2
-- down_revision: da1
-- message: rev db2

-- migrate:upgrade
CREATE TABLE t_db2 (id int);

-- migrate:downgrade
DROP TABLE t_db2;
