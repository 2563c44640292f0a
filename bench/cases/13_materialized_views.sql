-- A materialized view changes its query and keeps its indexes; another is
-- added with a unique index; a comment is set.
-- before
CREATE TABLE downloads (crate_id int NOT NULL, day date NOT NULL, count int NOT NULL, PRIMARY KEY (crate_id, day));
CREATE MATERIALIZED VIEW recent_downloads AS
  SELECT crate_id, sum(count) AS downloads FROM downloads
  WHERE day > date '2026-01-01' GROUP BY crate_id;
CREATE UNIQUE INDEX recent_downloads_crate_idx ON recent_downloads (crate_id);
CREATE INDEX recent_downloads_count_idx ON recent_downloads (downloads);
-- after
CREATE TABLE downloads (crate_id int NOT NULL, day date NOT NULL, count int NOT NULL, PRIMARY KEY (crate_id, day));
CREATE MATERIALIZED VIEW recent_downloads AS
  SELECT crate_id, sum(count) AS downloads, max(day) AS last_day FROM downloads
  WHERE day > date '2026-06-01' GROUP BY crate_id;
CREATE UNIQUE INDEX recent_downloads_crate_idx ON recent_downloads (crate_id);
CREATE INDEX recent_downloads_count_idx ON recent_downloads (downloads DESC);
COMMENT ON MATERIALIZED VIEW recent_downloads IS 'refreshed hourly';
CREATE MATERIALIZED VIEW daily_totals AS SELECT day, sum(count) AS total FROM downloads GROUP BY day WITH NO DATA;
CREATE UNIQUE INDEX daily_totals_day_idx ON daily_totals (day);
-- rows before
INSERT INTO downloads VALUES (1, '2026-07-01', 10), (2, '2026-07-02', 3);
-- rows after
INSERT INTO downloads VALUES (1, '2026-07-01', 10), (2, '2026-07-02', 3);
