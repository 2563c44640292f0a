-- crates.io's rename, written the way a person writes the desired schema:
-- packages becomes crates and versions.package_id becomes crate_id, with
-- the foreign key, the unique name, an index and the serial sequence
-- around them.
-- before
CREATE TABLE packages (
  id serial PRIMARY KEY,
  name varchar NOT NULL UNIQUE,
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX packages_created_at_idx ON packages (created_at);
CREATE TABLE versions (
  id serial PRIMARY KEY,
  package_id int NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
  num varchar NOT NULL,
  UNIQUE (package_id, num)
);
-- after
CREATE TABLE crates (
  id serial PRIMARY KEY,
  name varchar NOT NULL UNIQUE,
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX crates_created_at_idx ON crates (created_at);
CREATE TABLE versions (
  id serial PRIMARY KEY,
  crate_id int NOT NULL REFERENCES crates (id) ON DELETE CASCADE,
  num varchar NOT NULL,
  UNIQUE (crate_id, num)
);
-- rows before
INSERT INTO packages (name) VALUES ('serde'), ('rand');
INSERT INTO versions (package_id, num) VALUES (1, '1.0.0'), (2, '0.8.5');
-- rows after
INSERT INTO crates (name) VALUES ('serde'), ('rand');
INSERT INTO versions (crate_id, num) VALUES (1, '1.0.0'), (2, '0.8.5');
