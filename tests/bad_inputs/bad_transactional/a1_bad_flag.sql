-- revision: a1
-- down_revision:
-- transactional: yes

-- migrate:upgrade
CREATE INDEX CONCURRENTLY i_bad ON t (x);
