-- revision: pb2
-- down_revision: pa1
-- depends_on: nolabel
-- message: rev pb2

-- migrate:upgrade
CREATE TABLE t_pb2 (id int);

-- migrate:downgrade
DROP TABLE t_pb2;
