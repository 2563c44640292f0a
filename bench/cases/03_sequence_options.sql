-- A standalone invoice-number sequence changes its increment, bounds,
-- cache and cycling, and becomes owned by the column that uses it.
-- before
CREATE SEQUENCE invoice_numbers AS integer START 1 INCREMENT 1;
CREATE SEQUENCE ticket_numbers AS bigint START 100 MAXVALUE 999999;
CREATE TABLE invoices (
  number int PRIMARY KEY DEFAULT nextval('invoice_numbers'),
  total numeric(12, 2) NOT NULL
);
-- after
CREATE SEQUENCE invoice_numbers AS bigint START 1 INCREMENT 10 MINVALUE 1 MAXVALUE 99999999 CACHE 20;
CREATE SEQUENCE ticket_numbers AS bigint START 100 MAXVALUE 999999 CYCLE;
CREATE TABLE invoices (
  number int PRIMARY KEY DEFAULT nextval('invoice_numbers'),
  total numeric(12, 2) NOT NULL
);
ALTER SEQUENCE invoice_numbers OWNED BY invoices.number;
-- rows before
INSERT INTO invoices (total) VALUES (10.50), (99.00);
-- rows after
INSERT INTO invoices (total) VALUES (10.50), (99.00);
