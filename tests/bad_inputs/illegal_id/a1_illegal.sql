-- revision: a1-2
-- down_revision:

-- migrate:upgrade
CREATE TABLE t_illegal_id (id int);
