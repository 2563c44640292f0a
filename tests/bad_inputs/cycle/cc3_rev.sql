-- revision: cc3
-- down_revision: ca2
-- message: rev cc3

-- migrate:upgrade
CREATE TABLE t_cc3 (id int);

-- migrate:downgrade
DROP TABLE t_cc3;
