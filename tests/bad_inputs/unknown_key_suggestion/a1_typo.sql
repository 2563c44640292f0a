-- revision: a1
-- down_revisions:
-- message: plural key

-- migrate:upgrade
CREATE TABLE t_unknown_key_suggestion (id int);
