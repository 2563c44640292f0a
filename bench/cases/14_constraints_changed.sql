-- A check is tightened, a unique key widened to two columns, a foreign
-- key's actions and deferrability changed, a new foreign key added.
-- before
CREATE TABLE teams (id int PRIMARY KEY, slug text NOT NULL);
CREATE TABLE members (
  id int PRIMARY KEY,
  team_id int REFERENCES teams (id),
  manager_id int,
  email text NOT NULL,
  age int CONSTRAINT members_age_check CHECK (age >= 0),
  CONSTRAINT members_email_key UNIQUE (email)
);
-- after
CREATE TABLE teams (id int PRIMARY KEY, slug text NOT NULL, CONSTRAINT teams_slug_key UNIQUE (slug));
CREATE TABLE members (
  id int PRIMARY KEY,
  team_id int REFERENCES teams (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
  manager_id int CONSTRAINT members_manager_fkey REFERENCES members (id) ON DELETE SET NULL,
  email text NOT NULL,
  age int CONSTRAINT members_age_check CHECK (age >= 16 AND age < 150),
  CONSTRAINT members_email_key UNIQUE (team_id, email)
);
-- rows before
INSERT INTO teams VALUES (1, 'core'), (2, 'docs');
INSERT INTO members VALUES (1, 1, NULL, 'ada@example.com', 36), (2, 2, 1, 'bob@example.com', 41);
-- rows after
INSERT INTO teams VALUES (1, 'core'), (2, 'docs');
INSERT INTO members VALUES (1, 1, NULL, 'ada@example.com', 36), (2, 2, 1, 'bob@example.com', 41);
