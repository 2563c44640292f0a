-- Room bookings: btree_gist is installed for an exclusion constraint that
-- forbids overlapping bookings; a check is added NOT VALID.
-- before
CREATE TABLE rooms (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE bookings (
  id int PRIMARY KEY,
  room_id int NOT NULL REFERENCES rooms (id),
  during tstzrange NOT NULL
);
-- after
CREATE EXTENSION btree_gist;
CREATE TABLE rooms (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE bookings (
  id int PRIMARY KEY,
  room_id int NOT NULL REFERENCES rooms (id),
  during tstzrange NOT NULL,
  CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&)
);
ALTER TABLE bookings ADD CONSTRAINT bookings_not_empty CHECK (NOT isempty(during)) NOT VALID;
-- rows before
INSERT INTO rooms VALUES (1, 'blue');
INSERT INTO bookings VALUES (1, 1, '[2026-01-01 10:00, 2026-01-01 11:00)'), (2, 1, '[2026-01-01 11:00, 2026-01-01 12:00)');
-- rows after
INSERT INTO rooms VALUES (1, 'blue');
INSERT INTO bookings VALUES (1, 1, '[2026-01-01 10:00, 2026-01-01 11:00)');
