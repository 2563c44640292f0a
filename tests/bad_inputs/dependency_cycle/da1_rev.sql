-- revision: da1
-- down_revision: 
-- depends_on: dc3
-- message: rev da1

-- migrate:upgrade
CREATE TABLE t_da1 (id int);

-- migrate:downgrade
DROP TABLE t_da1;
