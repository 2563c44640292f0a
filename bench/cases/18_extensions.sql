-- Extensions added (one in its own schema) with a column of an
-- extension's type and a trigram index that needs an operator class.
-- before
CREATE TABLE tags (id int PRIMARY KEY, label text NOT NULL, attrs text);
-- after
CREATE EXTENSION citext;
CREATE EXTENSION pg_trgm;
CREATE SCHEMA extensions;
CREATE EXTENSION hstore SCHEMA extensions;
CREATE TABLE tags (id int PRIMARY KEY, label citext NOT NULL, attrs extensions.hstore);
CREATE INDEX tags_label_trgm_idx ON tags USING gin ((label::text) gin_trgm_ops);
-- rows before
INSERT INTO tags VALUES (1, 'Rust', 'kind=>lang'), (2, 'Postgres', NULL);
-- rows after
INSERT INTO tags VALUES (1, 'Rust', 'kind=>lang'), (2, 'Postgres', NULL);
