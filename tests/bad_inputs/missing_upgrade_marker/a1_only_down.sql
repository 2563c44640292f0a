-- revision: a1

-- migrate:downgrade
DROP TABLE t_missing_upgrade_marker;
