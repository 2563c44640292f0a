-- message: the id line is missing
-- down_revision:

-- migrate:upgrade
CREATE TABLE t_missing_revision (id int);
