-- revision: abe4
-- down_revision: abc2
-- message: create t_abe4

-- migrate:upgrade
CREATE TABLE t_abe4 (id int);

-- migrate:downgrade
DROP TABLE t_abe4;
