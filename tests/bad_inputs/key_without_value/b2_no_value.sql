-- revision: b2
-- down_revision

-- migrate:upgrade
CREATE TABLE t_key_without_value (id int);
