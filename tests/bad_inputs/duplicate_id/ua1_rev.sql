-- revision: ua1
-- down_revision: 
-- message: rev ua1

-- migrate:upgrade
CREATE TABLE t_ua1 (id int);

-- migrate:downgrade
DROP TABLE t_ua1;
