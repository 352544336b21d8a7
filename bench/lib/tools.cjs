#!/usr/bin/env node
// Timing helpers for bench/run. Node core modules only; every loop is bounded in time.
//
//   tools.cjs wait TIMEOUT_MS STATUS URL...
//       poll every 20 ms until every URL answers STATUS; exit 0, or 1 on timeout.
//   tools.cjs detect FAULT PGDATA TIMEOUT_MS URL...
//       wait until every URL answers 200, then inject FAULT into the PostgreSQL whose data
//       directory is PGDATA and poll each URL every 10 ms (a new connection per request, as a
//       load balancer does) until it answers 503. FAULT: `stop` (SIGQUIT to the postmaster:
//       PostgreSQL's immediate shutdown, what `pg_ctl stop -m immediate` sends) or `sigstop`
//       (SIGSTOP to the postmaster and every child: a hung peer that keeps its sockets open).
//       Prints one JSON line per URL: {"url":..., "ms": fault-to-first-503 or null}.
//   tools.cjs probe URL DURATION_MS INTERVAL_MS
//       what a load balancer's health checker sees while other clients load the server: one GET
//       on a new connection every INTERVAL_MS for DURATION_MS (2 s timeout each); prints
//       {"n", "ok", "p50_ms", "p90_ms", "p99_ms", "max_ms"} (a timeout counts as 2000 ms).
//   tools.cjs startup RUNS URL_LIVE URL_READY -- COMMAND ARG...
//       RUNS times: spawn COMMAND, poll URL_LIVE then URL_READY every 1 ms, record the time from
//       spawn to the first 200 of each, then SIGTERM (SIGKILL after 3 s). One JSON line per run.
'use strict';

const http = require('http');
const fs = require('fs');
const { spawn } = require('child_process');

const now = () => performance.now(); // monotonic ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One GET on a fresh connection (or through `agent`); resolves to the status, or 0 on any error
// or timeout. Also used by detect-watch.cjs and fleet.cjs.
function get(url, timeoutMs = 1000, agent = false) {
    return new Promise((resolve) => {
        let done = false;
        const finish = (v) => {
            if (!done) {
                done = true;
                resolve(v);
            }
        };
        const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
            res.resume();
            res.on('end', () => finish(res.statusCode));
            res.on('error', () => finish(res.statusCode));
        });
        req.on('timeout', () => {
            req.destroy();
            finish(0);
        });
        req.on('error', () => finish(0));
    });
}

async function waitAll(urls, status, timeoutMs) {
    const end = now() + timeoutMs;
    const pending = new Set(urls);
    while (pending.size && now() < end) {
        for (const u of [...pending]) if ((await get(u)) === status) pending.delete(u);
        if (pending.size) await sleep(20);
    }
    return pending.size === 0;
}

function postmasterPid(pgdata) {
    const pid = parseInt(fs.readFileSync(`${pgdata}/postmaster.pid`, 'utf8').split('\n')[0], 10);
    if (!(pid > 1)) throw new Error(`no postmaster pid in ${pgdata}`);
    return pid;
}

function childrenOf(pid) {
    const kids = [];
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            if (parseInt(fields[1], 10) === pid) kids.push(parseInt(d, 10));
        } catch (_) {
            // the process ended meanwhile
        }
    }
    return kids;
}

async function detect(fault, pgdata, timeoutMs, urls) {
    if (!(await waitAll(urls, 200, 30000))) {
        console.error('detect: not every URL answered 200 before the fault');
        process.exit(1);
    }
    const pm = postmasterPid(pgdata);
    const kids = childrenOf(pm);
    const t0 = now();
    if (fault === 'stop') {
        process.kill(pm, 'SIGQUIT');
    } else if (fault === 'sigstop') {
        process.kill(pm, 'SIGSTOP');
        for (const k of kids) {
            try {
                process.kill(k, 'SIGSTOP');
            } catch (_) {
                // gone already
            }
        }
    } else {
        throw new Error(`unknown fault ${fault}`);
    }
    const results = await Promise.all(
        urls.map(async (url) => {
            const end = t0 + timeoutMs;
            while (now() < end) {
                const t = now();
                const s = await get(url, 500);
                if (s === 503) return { url, ms: +(now() - t0).toFixed(1), sent_ms: +(t - t0).toFixed(1) };
                const wait = 10 - (now() - t);
                if (wait > 0) await sleep(wait);
            }
            return { url, ms: null };
        }),
    );
    for (const r of results) console.log(JSON.stringify(r));
}

async function probe(url, durationMs, intervalMs) {
    const lat = [];
    let ok = 0;
    const end = now() + durationMs;
    while (now() < end) {
        const t = now();
        const s = await get(url, 2000);
        lat.push(s === 0 ? 2000 : now() - t);
        if (s === 200) ok++;
        const wait = intervalMs - (now() - t);
        if (wait > 0) await sleep(wait);
    }
    lat.sort((a, b) => a - b);
    const pct = (p) => +lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)].toFixed(2);
    console.log(JSON.stringify({ n: lat.length, ok, p50_ms: pct(50), p90_ms: pct(90), p99_ms: pct(99), max_ms: pct(100) }));
}

async function startup(runs, live, ready, cmd) {
    for (let i = 0; i < runs; i++) {
        const t0 = now();
        const child = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
        let exited = false;
        child.on('exit', () => {
            exited = true;
        });
        let liveMs = null;
        let readyMs = null;
        const end = t0 + 10000;
        while (!exited && now() < end && readyMs === null) {
            if (liveMs === null) {
                if ((await get(live, 500)) === 200) liveMs = now() - t0;
            } else if ((await get(ready, 500)) === 200) {
                readyMs = now() - t0;
            }
            if (readyMs === null) await sleep(1);
        }
        if (!exited) child.kill('SIGTERM');
        const killEnd = now() + 3000;
        while (!exited && now() < killEnd) await sleep(10);
        if (!exited) {
            child.kill('SIGKILL');
            while (!exited) await sleep(10);
        }
        console.log(
            JSON.stringify({
                run: i + 1,
                live_ms: liveMs === null ? null : +liveMs.toFixed(2),
                ready_ms: readyMs === null ? null : +readyMs.toFixed(2),
            }),
        );
        await sleep(100);
    }
}

async function main() {
    const [cmd, ...args] = process.argv.slice(2);
    if (cmd === 'wait') {
        const [timeout, status, ...urls] = args;
        process.exit((await waitAll(urls, +status, +timeout)) ? 0 : 1);
    } else if (cmd === 'detect') {
        const [fault, pgdata, timeout, ...urls] = args;
        await detect(fault, pgdata, +timeout, urls);
    } else if (cmd === 'probe') {
        const [url, duration, interval] = args;
        await probe(url, +duration, +interval);
    } else if (cmd === 'startup') {
        const sep = args.indexOf('--');
        const [runs, live, ready] = args.slice(0, sep);
        await startup(+runs, live, ready, args.slice(sep + 1));
    } else {
        console.error('usage: tools.cjs wait|detect|startup ...');
        process.exit(2);
    }
}

module.exports = { get, childrenOf };

if (require.main === module) {
    main().catch((e) => {
        console.error(`tools.cjs: ${e.stack || e}`);
        process.exit(1);
    });
}
