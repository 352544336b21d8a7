-- 2 (expand): add the new column, nullable; relax the old one so a version that writes only
-- the new column (v3) can run once the backfill is done. v1 is unaffected by both.
ALTER TABLE orders ADD COLUMN customer text;
ALTER TABLE orders ALTER COLUMN customer_name DROP NOT NULL;
