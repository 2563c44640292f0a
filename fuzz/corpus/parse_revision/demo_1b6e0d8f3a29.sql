-- revision: 1b6e0d8f3a29
-- down_revision: a27f9c4d61e8
-- message: add users.display_name
-- create_date: 2026-02-03 11:20:10
-- transactional: true

-- migrate:upgrade
-- Nullable for now: existing rows are filled in by the next revision, which
-- then makes the column NOT NULL.
ALTER TABLE users ADD COLUMN display_name text;

-- migrate:downgrade
ALTER TABLE users DROP COLUMN display_name;
