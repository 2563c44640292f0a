-- revision: nb2
-- down_revision: na1, nz9
-- message: rev nb2

-- migrate:upgrade
CREATE TABLE t_nb2 (id int);

-- migrate:downgrade
DROP TABLE t_nb2;
