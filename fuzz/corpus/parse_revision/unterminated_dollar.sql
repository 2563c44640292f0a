-- revision: a1
-- migrate:upgrade
SELECT $fn$ unterminated
