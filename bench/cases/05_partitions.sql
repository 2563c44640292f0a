-- A range-partitioned event table gains a month, a default partition and
-- an index on the parent; a list-partitioned table is created.
-- before
CREATE TABLE events (
  id bigint NOT NULL,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
-- after
CREATE TABLE events (
  id bigint NOT NULL,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
CREATE TABLE events_2026_03 PARTITION OF events FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');
CREATE TABLE events_other PARTITION OF events DEFAULT;
CREATE INDEX events_kind_idx ON events (kind);
CREATE TABLE stores (id int NOT NULL, region text NOT NULL, name text) PARTITION BY LIST (region);
CREATE TABLE stores_eu PARTITION OF stores FOR VALUES IN ('eu');
CREATE TABLE stores_us PARTITION OF stores FOR VALUES IN ('us', 'ca');
-- rows before
INSERT INTO events VALUES (1, '2026-01-05', 'login'), (2, '2026-02-07', 'logout');
-- rows after
INSERT INTO events VALUES (1, '2026-01-05', 'login'), (2, '2026-02-07', 'logout');
INSERT INTO stores VALUES (1, 'eu', 'Lyon');
