-- Row-level security turned on and forced for a documents table; one
-- policy's USING changes, others are added (restrictive, per command,
-- WITH CHECK, a role).
-- before
CREATE TABLE documents (
  id int PRIMARY KEY,
  owner name NOT NULL DEFAULT current_user,
  published boolean NOT NULL DEFAULT false,
  body text
);
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_own ON documents FOR SELECT USING (owner = current_user);
CREATE TABLE notes (id int PRIMARY KEY, owner name NOT NULL);
-- after
CREATE TABLE documents (
  id int PRIMARY KEY,
  owner name NOT NULL DEFAULT current_user,
  published boolean NOT NULL DEFAULT false,
  body text
);
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents FORCE ROW LEVEL SECURITY;
CREATE POLICY read_own ON documents FOR SELECT USING (owner = current_user OR published);
CREATE POLICY write_own ON documents FOR INSERT TO postgres WITH CHECK (owner = current_user);
CREATE POLICY no_empty ON documents AS RESTRICTIVE FOR UPDATE USING (true) WITH CHECK (body IS NOT NULL);
CREATE TABLE notes (id int PRIMARY KEY, owner name NOT NULL);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_own ON notes USING (owner = current_user);
-- rows before
INSERT INTO documents (id, body) VALUES (1, 'draft');
INSERT INTO notes VALUES (1, 'postgres');
-- rows after
INSERT INTO documents (id, body) VALUES (1, 'draft');
INSERT INTO notes VALUES (1, 'postgres');
