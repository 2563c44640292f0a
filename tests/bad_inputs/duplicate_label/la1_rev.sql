-- revision: la1
-- down_revision: 
-- branch_labels: billing
-- message: rev la1

-- migrate:upgrade
CREATE TABLE t_la1 (id int);

-- migrate:downgrade
DROP TABLE t_la1;
