-- A stored generated column changes its expression and another is added;
-- a plain column becomes generated.
-- before
CREATE TABLE line_items (
  id int PRIMARY KEY,
  quantity int NOT NULL,
  unit_price numeric(10, 2) NOT NULL,
  total numeric(12, 2) GENERATED ALWAYS AS (quantity * unit_price) STORED,
  sku text NOT NULL,
  sku_upper text
);
-- after
CREATE TABLE line_items (
  id int PRIMARY KEY,
  quantity int NOT NULL,
  unit_price numeric(10, 2) NOT NULL,
  total numeric(12, 2) GENERATED ALWAYS AS (round(quantity * unit_price * 1.2, 2)) STORED,
  sku text NOT NULL,
  sku_upper text GENERATED ALWAYS AS (upper(sku)) STORED,
  discounted boolean GENERATED ALWAYS AS (unit_price < 1) STORED
);
-- rows before
INSERT INTO line_items (id, quantity, unit_price, sku) VALUES (1, 2, 3.50, 'ab-1'), (2, 1, 0.99, 'cd-2');
-- rows after
INSERT INTO line_items (id, quantity, unit_price, sku) VALUES (1, 2, 3.50, 'ab-1'), (2, 1, 0.99, 'cd-2');
