-- A new schema and a table in it referencing an existing table; a table
-- another one references is dropped with its foreign key; a column in the
-- middle of a table is dropped (its downgrade puts it back last: column
-- order only, which no ALTER can reach). No project_labels row goes into
-- `after`: its label_id would point at nothing once labels comes back empty.
-- before
CREATE TABLE projects (id int PRIMARY KEY, name text NOT NULL, legacy_code text, created_at date);
CREATE TABLE labels (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE project_labels (project_id int REFERENCES projects (id), label_id int REFERENCES labels (id), PRIMARY KEY (project_id, label_id));
-- after
CREATE TABLE projects (id int PRIMARY KEY, name text NOT NULL, created_at date);
CREATE TABLE project_labels (project_id int REFERENCES projects (id), label_id int, PRIMARY KEY (project_id, label_id));
CREATE SCHEMA reporting;
CREATE TABLE reporting.snapshots (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id int NOT NULL REFERENCES public.projects (id),
  taken_at timestamptz NOT NULL DEFAULT now(),
  payload jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX snapshots_payload_idx ON reporting.snapshots USING gin (payload jsonb_path_ops);
-- rows before
INSERT INTO projects VALUES (1, 'retort', 'R1', '2026-01-01');
INSERT INTO labels VALUES (1, 'cli');
INSERT INTO project_labels VALUES (1, 1);
-- rows after
INSERT INTO projects VALUES (1, 'retort', '2026-01-01');
INSERT INTO reporting.snapshots (project_id) VALUES (1);
