-- revision: a1
-- message: first
-- message: second

-- migrate:upgrade
CREATE TABLE t_duplicate_key (id int);
