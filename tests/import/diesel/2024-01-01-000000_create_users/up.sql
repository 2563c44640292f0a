CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT diesel_manage_updated_at('users');
