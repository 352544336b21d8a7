-- 1: the orders table as v1 knows it.
CREATE TABLE orders (
    id            bigserial PRIMARY KEY,
    customer_name text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
