DROP VIEW post_counts;
DROP TABLE posts;
