-- Domains gain and change checks, a default and NOT NULL; tables use them.
-- before
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE DOMAIN price AS numeric(10, 2) CHECK (VALUE >= 0);
CREATE TABLE customers (id int PRIMARY KEY, contact email);
CREATE TABLE products (id int PRIMARY KEY, list_price price, sale_price price);
-- after
CREATE DOMAIN email AS text NOT NULL
  CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%')
  CONSTRAINT email_short CHECK (length(VALUE) <= 254);
CREATE DOMAIN price AS numeric(10, 2) DEFAULT 0 CHECK (VALUE >= 0) CHECK (VALUE < 1000000);
CREATE TABLE customers (id int PRIMARY KEY, contact email);
CREATE TABLE products (id int PRIMARY KEY, list_price price, sale_price price);
-- rows before
INSERT INTO customers VALUES (1, 'ada@example.com');
INSERT INTO products VALUES (1, 10, 8), (2, 5, NULL);
-- rows after
INSERT INTO customers VALUES (1, 'ada@example.com');
INSERT INTO products VALUES (1, 10, 8), (2, 5, NULL);
