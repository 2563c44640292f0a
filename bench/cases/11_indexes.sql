-- Partial, expression, descending and covering indexes added, changed and
-- dropped; a unique index becomes partial.
-- before
CREATE TABLE users (
  id int PRIMARY KEY,
  email text NOT NULL,
  deleted_at timestamptz,
  last_seen timestamptz,
  team_id int
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_team_idx ON users (team_id);
CREATE INDEX users_seen_idx ON users (last_seen);
-- after
CREATE TABLE users (
  id int PRIMARY KEY,
  email text NOT NULL,
  deleted_at timestamptz,
  last_seen timestamptz,
  team_id int
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_team_idx ON users (team_id) INCLUDE (email) WHERE deleted_at IS NULL;
CREATE INDEX users_seen_idx ON users (last_seen DESC NULLS LAST);
CREATE INDEX users_domain_idx ON users (split_part(email, '@', 2));
-- rows before
INSERT INTO users VALUES (1, 'Ada@example.com', NULL, now(), 1), (2, 'ada@example.com', now(), NULL, 1);
-- rows after
INSERT INTO users VALUES (1, 'Ada@example.com', NULL, now(), 1), (2, 'bob@example.com', now(), NULL, 1);
