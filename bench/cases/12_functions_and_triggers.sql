-- A trigger function's body changes, another function changes its result
-- type, a trigger gains a WHEN clause and columns, one is disabled, one is
-- added.
-- before
CREATE TABLE posts (
  id int PRIMARY KEY,
  title text NOT NULL,
  updated_at timestamptz,
  revision int NOT NULL DEFAULT 0
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE FUNCTION post_count() RETURNS int LANGUAGE sql STABLE AS 'SELECT count(*)::int FROM posts';
CREATE FUNCTION slugify(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
-- after
CREATE TABLE posts (
  id int PRIMARY KEY,
  title text NOT NULL,
  updated_at timestamptz,
  revision int NOT NULL DEFAULT 0
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  NEW.revision := OLD.revision + 1;
  RETURN NEW;
END $$;
CREATE FUNCTION post_count() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM posts';
CREATE FUNCTION slugify(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT regexp_replace(lower(t), '[^a-z0-9]+', '-', 'g') $$;
CREATE FUNCTION forbid_delete() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  RAISE EXCEPTION 'posts are archived, not deleted';
END $$;
CREATE TRIGGER posts_touch BEFORE UPDATE OF title ON posts FOR EACH ROW
  WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION touch();
CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts FOR EACH ROW EXECUTE FUNCTION forbid_delete();
ALTER TABLE posts DISABLE TRIGGER posts_no_delete;
-- rows before
INSERT INTO posts (id, title) VALUES (1, 'hello');
-- rows after
INSERT INTO posts (id, title) VALUES (1, 'hello');
