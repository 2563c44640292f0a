-- revision: lc3
-- down_revision: la1
-- branch_labels: reports, billing
-- message: rev lc3

-- migrate:upgrade
CREATE TABLE t_lc3 (id int);

-- migrate:downgrade
DROP TABLE t_lc3;
