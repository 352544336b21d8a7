#!/usr/bin/env node
// Helpers for bench/fleet. Node core modules only; every loop is bounded in time.
//
//   fleet.cjs ready TIMEOUT_MS URLS_FILE
//       poll every URL (one per line) concurrently, each every 100 ms, until all answer 200;
//       exit 0, or 1 on timeout (prints how many were not ready).
//   fleet.cjs storm SERVERS PGDIR PGPORT SETTINGS_JSON URLS_FILE
//       the reconnect storm: `servers.sh pg-stop` (immediate) the PostgreSQL in PGDIR, poll every
//       URL every 200 ms until all answered 503 (or 6 s), wait 1 s more, start it again on the same
//       port (SETTINGS_JSON: its NAME=VALUE settings), then poll until every URL answers 200 again
//       (up to 60 s). Reads the server's log (log_connections) from the restart on: connection
//       attempts per second and per 100 ms. Prints one JSON line.
'use strict';

const http = require('http');
const fs = require('fs');
const { spawnSync } = require('child_process');

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const agent = new http.Agent({ keepAlive: false, maxSockets: 64 });

const tools = require('./tools.cjs');
const get = (url, timeoutMs = 2000) => tools.get(url, timeoutMs, agent);

const readUrls = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

// Polls each URL every `everyMs` (staggered) until stop() says so or `limitMs` passes;
// onStatus(index, status, time) for each answer.
async function pollAll(urls, everyMs, limitMs, onStatus, stop) {
    const end = now() + limitMs;
    await Promise.all(urls.map(async (u, i) => {
        await sleep((everyMs * i) / urls.length);
        while (now() < end && !stop()) {
            const t = now();
            const s = await get(u);
            onStatus(i, s, now());
            const wait = everyMs - (now() - t);
            if (wait > 0) await sleep(wait);
        }
    }));
}

async function ready(timeoutMs, file) {
    const urls = readUrls(file);
    const ok = new Array(urls.length).fill(false);
    let left = urls.length;
    await pollAll(urls, 100, timeoutMs, (i, s) => {
        if (s === 200 && !ok[i]) {
            ok[i] = true;
            left--;
        }
    }, () => left === 0);
    if (left) console.error(`fleet.cjs ready: ${left} of ${urls.length} not ready`);
    process.exit(left ? 1 : 0);
}

// "2026-12-03 09:10:11.123 UTC [..] LOG:  connection received: ..." -> ms since midnight.
function logMs(line) {
    const m = /^\S+ (\d\d):(\d\d):(\d\d\.\d+)/.exec(line);
    return m ? ((+m[1] * 60 + +m[2]) * 60 + +m[3]) * 1000 : null;
}

async function storm(servers, pgdir, pgport, settingsJson, file) {
    const urls = readUrls(file);
    const settings = JSON.parse(settingsJson);
    const n = urls.length;
    const saw503 = new Array(n).fill(false);
    const firstOkAfter = new Array(n).fill(null);
    let phase = 'down';
    let tStart = null;
    let down = 0;
    let pending = n;
    const t0 = now();
    const run = (args) => {
        const r = spawnSync(servers, args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`servers.sh ${args[0]} failed: ${r.stderr}`);
        return r.stdout.trim();
    };
    run(['pg-stop', pgdir]);
    const tStopped = now();
    const poller = pollAll(urls, 200, 80000, (i, s, t) => {
        if (s !== 200 && !saw503[i]) {
            saw503[i] = true;
            down++;
        }
        if (phase === 'up' && s === 200 && firstOkAfter[i] === null) {
            firstOkAfter[i] = t;
            pending--;
        }
    }, () => phase === 'up' && pending === 0);
    const downEnd = now() + 6000;
    while (down < n && now() < downEnd) await sleep(50);
    const downMs = now() - tStopped;
    await sleep(1000);
    const logFile = `${pgdir}/log`;
    const offset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const startWall = Date.now();
    const tStartCmd = now();
    run(['pg-start', pgdir, String(pgport), ...settings]);
    tStart = now(); // pg_ctl -w returned: accepting connections
    phase = 'up';
    await poller;
    const readyMs = firstOkAfter.filter((v) => v !== null).map((v) => v - tStart).sort((a, b) => a - b);
    // Connection attempts from the restart on, bucketed.
    const text = fs.readFileSync(logFile, 'utf8').slice(offset);
    const times = text.split('\n').filter((l) => l.includes('connection received: host=127.0.0.1')).map(logMs)
        .filter((v) => v !== null);
    const perSec = new Map();
    const per100 = new Map();
    for (const t of times) {
        perSec.set(Math.floor(t / 1000), (perSec.get(Math.floor(t / 1000)) || 0) + 1);
        per100.set(Math.floor(t / 100), (per100.get(Math.floor(t / 100)) || 0) + 1);
    }
    const first = times.length ? Math.min(...times) : null;
    const last = times.length ? Math.max(...times) : null;
    console.log(JSON.stringify({
        n, saw_503: down, down_all_ms: down === n ? +downMs.toFixed(0) : null,
        start_cmd_ms: +(tStart - tStartCmd).toFixed(0),
        ready: readyMs.length, all_ready_ms: readyMs.length === n ? +readyMs[n - 1].toFixed(0) : null,
        median_ready_ms: readyMs.length ? +readyMs[readyMs.length >> 1].toFixed(0) : null,
        attempts: times.length, peak_per_s: Math.max(0, ...perSec.values()), peak_per_100ms: Math.max(0, ...per100.values()),
        attempts_spread_ms: first === null ? null : +(last - first).toFixed(0),
        start_wall: new Date(startWall).toISOString(), total_ms: +(now() - t0).toFixed(0),
    }));
}

async function main() {
    const [cmd, ...a] = process.argv.slice(2);
    if (cmd === 'ready') return ready(+a[0], a[1]);
    if (cmd === 'storm') return storm(a[0], a[1], +a[2], a[3], a[4]);
    console.error('usage: fleet.cjs ready|storm ...');
    process.exit(2);
}

main().catch((e) => {
    console.error(`fleet.cjs: ${e.stack || e}`);
    process.exit(1);
});
