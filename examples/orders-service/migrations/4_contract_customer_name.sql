-- 4 (contract): drop the old column. Only once no v1 or v2 task runs.
ALTER TABLE orders DROP COLUMN customer_name;
