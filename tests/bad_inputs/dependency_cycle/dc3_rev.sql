-- revision: dc3
-- down_revision: db2
-- message: rev dc3

-- migrate:upgrade
CREATE TABLE t_dc3 (id int);

-- migrate:downgrade
DROP TABLE t_dc3;
