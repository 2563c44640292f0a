-- revision: ca1
-- down_revision: cc3
-- message: rev ca1

-- migrate:upgrade
CREATE TABLE t_ca1 (id int);

-- migrate:downgrade
DROP TABLE t_ca1;
