-- revision: a1

-- migrate:upgrade
CREATE TABLE t_unterminated_block_comment (id int);
/* outer comment
   /* nested comment */
   the outer one is never closed;
CREATE TABLE t_after_the_comment (id int);
