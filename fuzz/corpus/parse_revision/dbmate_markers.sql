-- revision: a1
-- down_revision: b2, c3
-- branch_labels: x
-- depends_on: d4
-- message: m
-- transactional: false

-- migrate:up
CREATE INDEX CONCURRENTLY i ON t (x);
-- migrate:down
