-- 3 (backfill): copy customer_name into customer for rows written before v2, in batches of
-- 1000 so no single statement touches the whole table.
DO $$
DECLARE
    moved integer;
BEGIN
    LOOP
        UPDATE orders SET customer = customer_name
        WHERE id IN (SELECT id FROM orders WHERE customer IS NULL AND customer_name IS NOT NULL LIMIT 1000);
        GET DIAGNOSTICS moved = ROW_COUNT;
        EXIT WHEN moved = 0;
    END LOOP;
END $$;
