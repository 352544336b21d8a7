-- 3 (backfill): copy customer_name into customer for rows written before v2, in batches so no
-- single statement touches the whole table. `orders-service migrate` sets orders.batch_size
-- (ORDERS_MIGRATE_BATCH_SIZE, default 1000 rows) and orders.batch_pause_ms
-- (ORDERS_MIGRATE_BATCH_PAUSE, default none: a pause after each batch, so a rehearsal can make the
-- backfill last as long as a big table's would).
DO $$
DECLARE
    moved integer;
    batch integer := COALESCE(NULLIF(current_setting('orders.batch_size', true), ''), '1000')::integer;
    pause double precision :=
        COALESCE(NULLIF(current_setting('orders.batch_pause_ms', true), ''), '0')::double precision / 1000;
BEGIN
    LOOP
        UPDATE orders SET customer = customer_name
        WHERE id IN (SELECT id FROM orders WHERE customer IS NULL AND customer_name IS NOT NULL LIMIT batch);
        GET DIAGNOSTICS moved = ROW_COUNT;
        EXIT WHEN moved = 0;
        IF pause > 0 THEN
            PERFORM pg_sleep(pause);
        END IF;
    END LOOP;
END $$;
