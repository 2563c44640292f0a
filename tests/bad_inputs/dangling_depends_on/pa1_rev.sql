-- revision: pa1
-- down_revision: 
-- message: rev pa1

-- migrate:upgrade
CREATE TABLE t_pa1 (id int);

-- migrate:downgrade
DROP TABLE t_pa1;
