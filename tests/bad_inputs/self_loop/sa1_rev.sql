-- revision: sa1
-- down_revision: sa1
-- message: rev sa1

-- migrate:upgrade
CREATE TABLE t_sa1 (id int);

-- migrate:downgrade
DROP TABLE t_sa1;
