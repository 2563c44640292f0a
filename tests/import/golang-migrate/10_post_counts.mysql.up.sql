CREATE VIEW post_counts AS SELECT 1 FROM dual;
