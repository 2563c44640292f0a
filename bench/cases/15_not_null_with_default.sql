-- Columns added NOT NULL with a default to a table with rows; an existing
-- column becomes NOT NULL and gains a default; a default changes.
-- before
CREATE TABLE subscriptions (
  id int PRIMARY KEY,
  customer text,
  plan text DEFAULT 'free'
);
-- after
CREATE TABLE subscriptions (
  id int PRIMARY KEY,
  customer text NOT NULL DEFAULT 'unknown',
  plan text NOT NULL DEFAULT 'trial',
  active boolean NOT NULL DEFAULT true,
  seats int NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- rows before
INSERT INTO subscriptions VALUES (1, 'ada', 'pro'), (2, 'bob', 'free');
-- rows after
INSERT INTO subscriptions (id, customer) VALUES (1, 'ada'), (2, 'bob');
