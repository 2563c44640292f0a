-- revision: ub2
-- down_revision: ua1
-- message: rev ub2

-- migrate:upgrade
CREATE TABLE t_ub2 (id int);

-- migrate:downgrade
DROP TABLE t_ub2;
