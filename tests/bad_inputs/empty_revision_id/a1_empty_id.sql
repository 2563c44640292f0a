-- revision:
-- message: an empty id

-- migrate:upgrade
CREATE TABLE t_empty_revision_id (id int);
