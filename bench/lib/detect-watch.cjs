#!/usr/bin/env node
// One fault of bench/detect-watch, against several sidecars at once (same servers, same moment).
// Node core modules plus `pg` (NODE_PATH, installed by bench/run); every loop is bounded in time.
//
//   detect-watch.cjs FAULT RUN CONFIG_JSON
//     CONFIG_JSON: {"servers": path of scripts/servers.sh, "pgdir", "pgport", "pgsettings": [...],
//                   "redisdir", "redisport", "timeout_ms", "window_ms",
//                   "urls": {"system": "http://127.0.0.1:PORT/health", ...}}
//     FAULT: pg-stop   SIGQUIT to the postmaster (PostgreSQL's immediate shutdown: what
//                      `pg_ctl stop -m immediate` sends), restart on the same port once every
//                      URL answered 503 (or timeout_ms passed);
//            redis-kill SIGKILL to redis-server, restart on the same port likewise;
//            terminate  pg_terminate_backend() of every backend of role "app" (the checks'
//                      connections); no restart: each URL is polled for window_ms and every 503
//                      is counted (expected: none);
//            sigstop    SIGSTOP to the postmaster and all its children (a silent peer that keeps
//                      its sockets open), SIGCONT once every URL answered 503 or timeout_ms.
//   Each URL is polled every 10 ms with a new connection (as a load balancer does). Recovery is
//   measured from the server accepting again (the first successful `SELECT 1` / `PING` of this
//   script, polled every 10 ms after the restart; for sigstop, the SIGCONT) to each URL's first 200.
//   Prints one JSON line per URL: {"kind":"detect_watch","fault","run","system","detect_ms",
//   "recover_ms","n503","max_latency_ms","restart_ms"}.
'use strict';

const net = require('net');
const fs = require('fs');
const { spawn } = require('child_process');
const { Client } = require('pg');

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { get, childrenOf } = require('./tools.cjs');

function pidOf(file) {
    const pid = parseInt(fs.readFileSync(file, 'utf8').split('\n')[0], 10);
    if (!(pid > 1)) throw new Error(`no pid in ${file}`);
    return pid;
}

function alive(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch (_) {
        return false;
    }
}


function run(cmd, args) {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
    });
}

async function pgQuery(cfg, sql, timeoutMs = 1000) {
    const c = new Client({
        host: '127.0.0.1', port: cfg.pgport, user: 'app', password: 'app-secret-pw', database: 'app',
        connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs,
    });
    c.on('error', () => {});
    try {
        await c.connect();
        const r = await c.query(sql);
        return r.rows;
    } finally {
        c.end().catch(() => {});
    }
}

function redisPing(port, timeoutMs = 500) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        const t = setTimeout(() => {
            s.destroy();
            resolve(false);
        }, timeoutMs);
        let buf = '';
        s.on('connect', () => s.write('PING\r\n'));
        s.on('data', (d) => {
            buf += d;
            if (buf.includes('\r\n')) {
                clearTimeout(t);
                s.destroy();
                resolve(buf.startsWith('+PONG'));
            }
        });
        s.on('error', () => {
            clearTimeout(t);
            resolve(false);
        });
    });
}

// Polls until `probe` resolves true (every 10 ms, up to limitMs); the time it did, or null.
async function until(probe, limitMs) {
    const end = now() + limitMs;
    while (now() < end) {
        const t = now();
        try {
            if (await probe()) return now();
        } catch (_) {
            // not yet
        }
        const wait = 10 - (now() - t);
        if (wait > 0) await sleep(wait);
    }
    return null;
}

async function main() {
    const [fault, runNo, cfgJson] = process.argv.slice(2);
    const cfg = JSON.parse(cfgJson);
    const systems = Object.keys(cfg.urls);
    const st = Object.fromEntries(systems.map((s) => [s, { first503: null, first200after: null, n503: 0, maxLat: 0 }]));
    const pgPidFile = `${cfg.pgdir}/postmaster.pid`;
    const redisPidFile = `${cfg.redisdir}/redis.pid`;

    // Every URL 200 first.
    for (const s of systems) {
        if ((await until(async () => (await get(cfg.urls[s], 1000)) === 200, 30000)) === null) {
            throw new Error(`${s} not 200 before the fault`);
        }
    }
    let phase = 'fault'; // 'fault': waiting for 503; 'recover': waiting for 200 after restart
    let stopPolling = false;
    let t0 = 0;
    let tAccept = null;
    const pollers = systems.map(async (s) => {
        const r = st[s];
        while (!stopPolling) {
            const t = now();
            const code = await get(cfg.urls[s], 2000);
            const done = now();
            r.maxLat = Math.max(r.maxLat, done - t);
            if (code === 503) {
                r.n503++;
                if (r.first503 === null) r.first503 = done - t0;
            } else if (code === 200 && phase === 'recover' && r.first200after === null && r.first503 !== null) {
                r.first200after = done;
            }
            const wait = 10 - (now() - t);
            if (wait > 0) await sleep(wait);
        }
    });
    const all503 = () => systems.every((s) => st[s].first503 !== null);
    const all200 = () => systems.every((s) => st[s].first503 === null || st[s].first200after !== null);

    let restartMs = null;
    t0 = now();
    if (fault === 'pg-stop' || fault === 'sigstop' || fault === 'terminate') {
        const pm = pidOf(pgPidFile);
        if (fault === 'pg-stop') {
            process.kill(pm, 'SIGQUIT');
        } else if (fault === 'sigstop') {
            const kids = childrenOf(pm);
            process.kill(pm, 'SIGSTOP');
            for (const k of kids) {
                try {
                    process.kill(k, 'SIGSTOP');
                } catch (_) {
                    // gone
                }
            }
        } else {
            await pgQuery(cfg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app' AND pid <> pg_backend_pid()");
        }
        if (fault === 'terminate') {
            await sleep(cfg.window_ms);
        } else {
            await until(async () => all503(), cfg.timeout_ms);
            phase = 'recover';
            const r0 = now();
            if (fault === 'pg-stop') {
                await until(async () => !alive(pm), 10000);
                await run(cfg.servers, ['pg-start', cfg.pgdir, String(cfg.pgport), ...cfg.pgsettings]);
                tAccept = await until(async () => (await pgQuery(cfg, 'SELECT 1', 500)).length === 1, 20000);
            } else {
                for (const k of childrenOf(pm)) {
                    try {
                        process.kill(k, 'SIGCONT');
                    } catch (_) {
                        // gone
                    }
                }
                process.kill(pm, 'SIGCONT');
                tAccept = now();
            }
            restartMs = now() - r0;
        }
    } else if (fault === 'redis-kill') {
        const pid = pidOf(redisPidFile);
        process.kill(pid, 'SIGKILL');
        await until(async () => all503(), cfg.timeout_ms);
        phase = 'recover';
        const r0 = now();
        await until(async () => !alive(pid), 10000);
        await run(cfg.servers, ['redis-start', cfg.redisdir, String(cfg.redisport)]);
        tAccept = await until(() => redisPing(cfg.redisport), 20000);
        restartMs = now() - r0;
    } else {
        throw new Error(`unknown fault ${fault}`);
    }
    if (tAccept !== null) await until(async () => all200(), 20000);
    stopPolling = true;
    await Promise.all(pollers);
    for (const s of systems) {
        const r = st[s];
        console.log(JSON.stringify({
            kind: 'detect_watch', fault, run: +runNo, system: s,
            detect_ms: r.first503 === null ? null : +r.first503.toFixed(1),
            recover_ms: r.first200after === null || tAccept === null ? null : +(r.first200after - tAccept).toFixed(1),
            n503: r.n503, max_latency_ms: +r.maxLat.toFixed(1),
            restart_ms: restartMs === null ? null : +restartMs.toFixed(0),
        }));
    }
}

main().catch((e) => {
    console.error(`detect-watch.cjs: ${e.stack || e}`);
    process.exit(1);
});
