-- revision: ca2
-- down_revision: ca1
-- message: rev ca2

-- migrate:upgrade
CREATE TABLE t_ca2 (id int);

-- migrate:downgrade
DROP TABLE t_ca2;
