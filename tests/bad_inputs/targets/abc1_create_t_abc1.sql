-- revision: abc1
-- down_revision:
-- message: create t_abc1

-- migrate:upgrade
CREATE TABLE t_abc1 (id int);

-- migrate:downgrade
DROP TABLE t_abc1;
