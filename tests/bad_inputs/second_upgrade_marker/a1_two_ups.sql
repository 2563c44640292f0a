-- revision: a1

-- migrate:upgrade
CREATE TABLE t_second_upgrade_marker (id int);

-- migrate:up
CREATE TABLE t_second_upgrade_marker_2 (id int);
