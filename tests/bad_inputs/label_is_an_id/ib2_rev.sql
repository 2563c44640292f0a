-- revision: ib2
-- down_revision: ia1
-- message: rev ib2

-- migrate:upgrade
CREATE TABLE t_ib2 (id int);

-- migrate:downgrade
DROP TABLE t_ib2;
