-- revision: a1
-- author: someone

-- migrate:upgrade
CREATE TABLE t_unknown_key (id int);
