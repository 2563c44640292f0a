-- revision: b2
-- depends_on:a1

-- migrate:upgrade
CREATE TABLE t_key_without_space (id int);
