-- revision: lb2
-- down_revision: la1
-- message: rev lb2

-- migrate:upgrade
CREATE TABLE t_lb2 (id int);

-- migrate:downgrade
DROP TABLE t_lb2;
