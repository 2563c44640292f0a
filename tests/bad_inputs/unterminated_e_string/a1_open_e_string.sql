-- revision: a1

-- migrate:upgrade
CREATE TABLE t_unterminated_e_string (note text);
INSERT INTO t_unterminated_e_string VALUES (E'ends with an escaped quote\');
