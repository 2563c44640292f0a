-- A priority enum loses a value and reorders the rest while a column
-- default, an array column, a view and a function use it (the type has
-- to be rebuilt).
-- before
CREATE TYPE priority AS ENUM ('low', 'normal', 'high', 'urgent');
CREATE TABLE tickets (
  id int PRIMARY KEY,
  priority priority NOT NULL DEFAULT 'normal',
  history priority[] NOT NULL DEFAULT '{}'
);
CREATE VIEW hot_tickets AS SELECT id FROM tickets WHERE priority >= 'high';
CREATE INDEX tickets_priority_idx ON tickets (priority);
-- after
CREATE TYPE priority AS ENUM ('normal', 'low', 'high');
CREATE TABLE tickets (
  id int PRIMARY KEY,
  priority priority NOT NULL DEFAULT 'normal',
  history priority[] NOT NULL DEFAULT '{}'
);
CREATE VIEW hot_tickets AS SELECT id FROM tickets WHERE priority >= 'high';
CREATE INDEX tickets_priority_idx ON tickets (priority);
-- rows before
INSERT INTO tickets VALUES (1, 'low', '{normal,low}'), (2, 'high', '{}');
-- rows after
INSERT INTO tickets VALUES (1, 'low', '{normal,low}'), (2, 'high', '{}');
