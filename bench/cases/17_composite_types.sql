-- A composite type used by a table column gains an attribute and retypes
-- another; a new composite type is used by a function.
-- before
CREATE TYPE address AS (street text, city varchar(40), zip text);
CREATE TABLE shops (id int PRIMARY KEY, name text NOT NULL, location address);
-- after
CREATE TYPE address AS (street text, city text, zip text, country char(2));
CREATE TYPE money_amount AS (amount numeric(12, 2), currency char(3));
CREATE TABLE shops (id int PRIMARY KEY, name text NOT NULL, location address);
CREATE FUNCTION in_euros(a numeric) RETURNS money_amount LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(a, 'EUR')::money_amount $$;
-- rows before
INSERT INTO shops VALUES (1, 'corner', ROW('1 Main St', 'Lyon', '69001'));
-- rows after
INSERT INTO shops VALUES (1, 'corner', ROW('1 Main St', 'Lyon', '69001', 'FR'));
