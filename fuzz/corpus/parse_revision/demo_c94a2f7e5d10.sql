-- revision: c94a2f7e5d10
-- down_revision: 1b6e0d8f3a29
-- message: backfill users.display_name from email
-- create_date: 2026-02-03 11:48:52
-- transactional: true

-- migrate:upgrade
-- Data migration: derive a display name from the local part of the email,
-- e.g. 'ada.lovelace@example.com' -> 'Ada Lovelace'; then require it.
UPDATE users
   SET display_name = initcap(replace(split_part(email, '@', 1), '.', ' '))
 WHERE display_name IS NULL;

ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;

-- migrate:downgrade
-- Undo exactly what the upgrade did: drop the constraint, then clear only the
-- names that still equal the derived value (names users edited since are kept).
ALTER TABLE users ALTER COLUMN display_name DROP NOT NULL;

UPDATE users
   SET display_name = NULL
 WHERE display_name = initcap(replace(split_part(email, '@', 1), '.', ' '));
