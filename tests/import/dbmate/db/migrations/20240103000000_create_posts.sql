-- migrate:up
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), body text);
CREATE VIEW post_counts AS SELECT user_id, count(*) AS posts FROM posts GROUP BY user_id;

-- migrate:down
DROP VIEW post_counts;
DROP TABLE posts;
