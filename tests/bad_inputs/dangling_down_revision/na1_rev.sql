-- revision: na1
-- down_revision: 
-- message: rev na1

-- migrate:upgrade
CREATE TABLE t_na1 (id int);

-- migrate:downgrade
DROP TABLE t_na1;
