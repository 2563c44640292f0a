-- revision: abc2
-- down_revision: abc1
-- message: create t_abc2, irreversible

-- migrate:upgrade
CREATE TABLE t_abc2 (id int);
