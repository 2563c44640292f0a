-- revision: a1

-- migrate:upgrade
CREATE TABLE t_unterminated_quote (id int, note text);

-- migrate:downgrade
INSERT INTO t_unterminated_quote VALUES (1, 'it''s open);
DROP TABLE t_unterminated_quote;
