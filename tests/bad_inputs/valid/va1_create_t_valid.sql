-- revision: va1
-- down_revision:
-- message: a valid revision, for the cases whose fault is elsewhere

-- migrate:upgrade
CREATE TABLE t_valid (id int);

-- migrate:downgrade
DROP TABLE t_valid;
