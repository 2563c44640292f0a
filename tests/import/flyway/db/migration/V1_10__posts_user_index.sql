CREATE INDEX CONCURRENTLY posts_user_idx ON posts (user_id);
