// Reference: @godaddy/terminus used as its README shows, on a plain Node http server, with the
// health check querying PostgreSQL through a `pg` Pool on every request (`SELECT 1`).
// PORT, DATABASE_URL, PG_POOL_MAX (default 10, pg's default) come from the environment.
'use strict';

const http = require('http');
const { createTerminus } = require('@godaddy/terminus');
const { Pool } = require('pg');

const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.PG_POOL_MAX || 10),
});
pool.on('error', () => {}); // an idle client lost its server: the next check reports it

const server = http.createServer((req, res) => {
    res.end('ok\n');
});

createTerminus(server, {
    healthChecks: {
        '/health': async () => {
            await pool.query('SELECT 1');
        },
    },
    signals: ['SIGTERM', 'SIGINT'],
    onSignal: () => pool.end(),
    logger: () => {},
});

server.listen(Number(process.env.PORT), '127.0.0.1');
