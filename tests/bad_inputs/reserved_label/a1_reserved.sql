-- revision: a1
-- branch_labels: heads

-- migrate:upgrade
CREATE TABLE t_reserved_label (id int);
