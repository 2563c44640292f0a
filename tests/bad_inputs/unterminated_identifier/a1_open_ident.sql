-- revision: a1

-- migrate:upgrade
CREATE TABLE "t_unterminated_identifier (id int);
