-- A column read by a view is retyped (varchar(80) to text, int to
-- bigint); a second view reads the first.
-- before
CREATE TABLE products (
  id int PRIMARY KEY,
  name varchar(80) NOT NULL,
  stock int NOT NULL DEFAULT 0
);
CREATE VIEW product_names AS SELECT id, name, stock FROM products;
CREATE VIEW low_stock AS SELECT name FROM product_names WHERE stock < 5;
COMMENT ON VIEW low_stock IS 'reorder list';
-- after
CREATE TABLE products (
  id int PRIMARY KEY,
  name text NOT NULL,
  stock bigint NOT NULL DEFAULT 0
);
CREATE VIEW product_names AS SELECT id, name, stock FROM products;
CREATE VIEW low_stock AS SELECT name FROM product_names WHERE stock < 5;
COMMENT ON VIEW low_stock IS 'reorder list';
-- rows before
INSERT INTO products VALUES (1, 'bolt', 3), (2, 'nut', 40);
-- rows after
INSERT INTO products VALUES (1, 'bolt', 3), (2, 'nut', 40);
