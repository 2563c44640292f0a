-- revision: ia1
-- down_revision: 
-- branch_labels: ib2
-- message: rev ia1

-- migrate:upgrade
CREATE TABLE t_ia1 (id int);

-- migrate:downgrade
DROP TABLE t_ia1;
