-- revision: abd3
-- down_revision: abc2
-- branch_labels: feature
-- message: create t_abd3

-- migrate:upgrade
CREATE TABLE t_abd3 (id int);

-- migrate:downgrade
DROP TABLE t_abd3;
