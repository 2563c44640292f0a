-- revision: a1

-- migrate:upgrade
CREATE TABLE t_unknown_marker (id int);

-- migrate:rollback
DROP TABLE t_unknown_marker;
