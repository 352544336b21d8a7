#!/usr/bin/env node
// report.cjs RESULTS.jsonl OUT.md PLOTDIR PNGNAME
// Turns bench/run's results into docs/benchmarks.md (plus bench/notes.md, hand-written), the
// data files for bench/lib/plot.gp, and a table on stdout.
'use strict';

const fs = require('fs');
const path = require('path');

const [resultsFile, outMd, plotDir, pngName] = process.argv.slice(2);
const rows = fs
    .readFileSync(resultsFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const meta = rows.find((r) => r.kind === 'meta') || {};
const of = (kind) => rows.filter((r) => r.kind === kind);

const median = (xs) => {
    const v = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
    if (!v.length) return null;
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const fint = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const fms = (x) => (x === null || x === undefined ? '–' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a, b) => (a && b ? a / b : null);
const verdict = (ok) => (ok === null ? 'not measured' : ok ? '**met**' : '**missed**');

const SYSTEMS = [
    ['nginx', 'nginx `return 200`', '/health'],
    ['readyprobe', 'readyprobe sidecar (postgres + redis checks)', '/health'],
    ['readyprobe-variant', 'readyprobe, BENCH_VARIANT build (same checks)', '/health'],
    ['orders-embedded', 'orders-service, embedded probe (schema + redis checks)', '/health'],
    ['terminus', '@godaddy/terminus + pg Pool `SELECT 1` per request', '/health'],
    ['lightship', 'lightship after signalReady()', '/ready'],
];
const http = of('http');
const H = (system, conc) => http.find((r) => r.system === system && r.conc === conc);
const rss = (system) => (of('rss').find((r) => r.system === system) || {}).kb;
const lb = (system) => of('lbprobe').find((r) => r.system === system);
const flaps = (system) => of('flaps').find((r) => r.system === system);
const bg = (system) => (of('background').find((r) => r.system === system) || {}).busy_pct;

const md = [];
const out = (s = '') => md.push(s);
const table = (header, body, numeric = true) => {
    out(`| ${header.join(' | ')} |`);
    out(`|${header.map((h, i) => (i === 0 || !numeric ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const r of body) out(`| ${r.join(' | ')} |`);
    out();
};

// ------------------------------------------------------------------ targets
const targets = [];
const rp64 = H('readyprobe', 64);
const rp8 = H('readyprobe', 8);
const ng64 = H('nginx', 64);
const ls64 = H('lightship', 64);
const ls8 = H('lightship', 8);
if (rp64 && ng64) {
    const r = ratio(rp64.rps, ng64.rps);
    targets.push(['/health ≥ 0.5× nginx requests/s (-c64)', `${fmt(r, 2)}× (${fint(rp64.rps)} vs ${fint(ng64.rps)})`, r >= 0.5]);
}
if (rp64 && ls64) {
    const r = ratio(rp64.rps, ls64.rps);
    targets.push(['/health ≥ 1.5× lightship requests/s (-c64)', `${fmt(r, 2)}× (${fint(rp64.rps)} vs ${fint(ls64.rps)})`, r >= 1.5]);
    targets.push([
        '/health p99 below lightship’s (-c64)',
        `${fms(rp64.p99_ms)} ms vs ${fms(ls64.p99_ms)} ms`,
        rp64.p99_ms < ls64.p99_ms,
    ]);
}
if (rp8 && ls8) {
    targets.push(['/health p99 below lightship’s (-c8)', `${fms(rp8.p99_ms)} ms vs ${fms(ls8.p99_ms)} ms`, rp8.p99_ms < ls8.p99_ms]);
}
const dbRate = (r) => (r && r.stmts !== undefined ? r.stmts / r.secs : null);
const rpIdle = H('readyprobe', 0);
if (rpIdle && rp64 && rp8) {
    const rates = [rpIdle, rp8, rp64].map(dbRate);
    // One SELECT 1 per interval (1 s, stretched by up to 10 % jitter): 0.9..1.0 per second.
    const ok = rates.every((x) => x <= 1.2) && Math.max(...rates) - Math.min(...rates) <= 0.5;
    targets.push([
        'DB queries independent of request rate (sidecar, 1 check, 1 s interval)',
        `${rates.map((x) => fmt(x, 2)).join(' / ')} statements/s at ${[rpIdle, rp8, rp64].map((r) => fint(r.rps)).join(' / ')} req/s`,
        ok,
    ]);
}
if (rp64) {
    const f = flaps('readyprobe');
    const bad = (rp64.non2xx || 0) + ((rp8 && rp8.non2xx) || 0);
    targets.push([
        '(design) load on /health never fails a check: no 503 while the dependencies are up',
        `${fint(bad)} non-2xx responses, ${f ? f.downs : '?'} check down transition(s) during the wrk runs`,
        bad === 0 && (!f || f.downs === 0),
    ]);
}
const lbrp = lb('readyprobe');
if (lbrp) {
    targets.push([
        '(design) the load balancer’s probe never queues behind keep-alive clients (new connection every 100 ms during -c64)',
        `${lbrp.n} probes, p50 ${fms(lbrp.p50_ms)} ms, max ${fms(lbrp.max_ms)} ms (lightship: ${lb('lightship') ? fms(lb('lightship').max_ms) : '–'} ms max)`,
        lbrp.max_ms < 100 && lbrp.ok === lbrp.n,
    ]);
}
const detect = of('detect');
const bound = (iv, d) => d.fall * (iv + d.timeout_s) * 1000 + 100;
const boundJ = (iv, d) => d.fall * (iv * 1.1 + d.timeout_s) * 1000 + 100;
const detectGroups = [];
for (const fault of ['stop', 'sigstop']) {
    for (const iv of [...new Set(detect.map((d) => d.interval_s))].sort((a, b) => a - b)) {
        const runs = detect.filter((d) => d.fault === fault && d.interval_s === iv);
        if (!runs.length) continue;
        const ms = runs.map((r) => r.ms);
        const got = ms.filter((x) => x !== null);
        detectGroups.push({
            fault,
            iv,
            ms,
            med: median(ms),
            max: got.length === ms.length ? Math.max(...got) : null,
            bound: bound(iv, runs[0]),
            boundJ: boundJ(iv, runs[0]),
            fall: runs[0].fall,
            timeout: runs[0].timeout_s,
        });
    }
}
for (const g of detectGroups.filter((g) => g.fault === 'sigstop')) {
    targets.push([
        `hung-peer (SIGSTOP) detection ≤ fall×(interval×1.1+timeout)+100 ms, interval ${g.iv}s`,
        `median ${fint(g.med)} ms, max ${fint(g.max)} ms; bound ${fint(g.boundJ)} ms (${fint(g.bound)} ms without jitter)`,
        g.max !== null && g.max <= g.boundJ,
    ]);
}
const foot = of('footprint')[0];
if (foot) {
    targets.push(['idle RSS ≤ 8 MB (5 checks, 1 s interval)', `${fmt(foot.rss_max_kb / 1024, 2)} MiB max over ${fmt(foot.secs, 0)} s`, foot.rss_max_kb <= 8 * 1024]);
}
const cli = of('cli');
const rc = cli.find((c) => c.name === 'readyprobe check');
const cu = cli.find((c) => c.name === 'curl -f');
if (rc && cu) {
    targets.push([
        '`readyprobe check` ≤ ½ of `curl -f` wall time',
        `${fms(rc.mean_ms)} ms vs ${fms(cu.mean_ms)} ms (${fmt(rc.mean_ms / cu.mean_ms, 2)}×)`,
        rc.mean_ms <= 0.5 * cu.mean_ms,
    ]);
}

// ------------------------------------------------------------------ markdown
out('# Benchmarks');
out();
out(
    `Generated by \`bench/run\`${meta.mode === 'quick' ? ' --quick (short windows: not reference numbers)' : ''} on ` +
        `${meta.date}; do not edit by hand (the commentary at the end comes from \`bench/notes.md\`). ` +
        'Every number below comes from one run, with the references measured side by side on the same ' +
        'machine minutes apart: compare ratios, not absolute numbers, across machines.',
);
out();
out('## Machine and versions');
out();
table(
    ['what', 'value'],
    [
        ['machine', `${meta.cores} cores (${meta.cpu}), ${meta.os}, Linux ${meta.kernel}; load generator and servers share the cores`],
        ['readyprobe', `commit ${meta.commit}, Release build (\`build-bench\`), ${meta.compiler}, cpp-httplib ${meta.httplib}`],
        ['load and timing', `wrk ${meta.wrk}, hyperfine ${meta.hyperfine}, curl ${meta.curl}, gnuplot ${meta.gnuplot}`],
        ['references', `nginx ${meta.nginx}; Node ${meta.node}: lightship ${meta.lightship} (fastify ${meta.fastify}), @godaddy/terminus ${meta.terminus}, pg ${meta.pg_npm}`],
        ['dependencies', `PostgreSQL ${meta.postgres} (throwaway, fsync off, pg_stat_statements), Redis ${meta.redis}`],
        [
            'other work on the machine',
            `${meta.quiet_busy ?? '?'} % of the cores busy after waiting ${meta.quiet_waited ?? '?'} s for them to be ≤ 15 % busy; ` +
                `load average ${meta.load_start} at the start, ${meta.load_end} at the end; per system: the “bg CPU” column below`,
        ],
    ],
    false,
);

out('## Targets');
out();
table(
    ['target (issue 8)', 'measured', 'result'],
    targets.map(([t, m, ok]) => [t, m, verdict(ok)]),
    false,
);

out('## 1. `/health` throughput and latency');
out();
out(
    `\`wrk -t2 -c64 -d${meta.wrk_secs}s --latency URL\`, then \`wrk -t2 -c8 -d${meta.wrk_secs}s --latency URL\`, ` +
        `after a discarded ${meta.warm_secs} s warm-up at -c64, one system at a time. Latencies in ms. ` +
        'Ratios are requests/s at the same concurrency.',
);
out();
const httpRows = [];
for (const [key, label, ep] of SYSTEMS) {
    const a = H(key, 64);
    const b = H(key, 8);
    if (!a && !b) continue;
    httpRows.push([
        `${label} \`${ep}\``,
        a ? fint(a.rps) : '–',
        a ? fms(a.avg_ms) : '–',
        a ? fms(a.p99_ms) : '–',
        b ? fint(b.rps) : '–',
        b ? fms(b.avg_ms) : '–',
        b ? fms(b.p99_ms) : '–',
        a && ng64 ? `${fmt(ratio(a.rps, ng64.rps), 2)} / ${fmt(ratio(b && b.rps, H('nginx', 8) && H('nginx', 8).rps), 2)}` : '–',
        a && ls64 ? `${fmt(ratio(a.rps, ls64.rps), 2)} / ${fmt(ratio(b && b.rps, ls8 && ls8.rps), 2)}` : '–',
        `${a ? fint(a.non2xx) : '–'} / ${b ? fint(b.non2xx) : '–'}`,
        lb(key) ? `${fms(lb(key).p50_ms)} / ${fms(lb(key).max_ms)} (${lb(key).ok}/${lb(key).n} ok)` : '–',
        rss(key) ? fmt(rss(key) / 1024, 1) : '–',
        bg(key) !== undefined ? `${bg(key)} %` : '–',
    ]);
}
table(
    ['system', 'req/s c64', 'avg c64', 'p99 c64', 'req/s c8', 'avg c8', 'p99 c8', '× nginx c64/c8', '× lightship c64/c8', 'non-2xx c64/c8', 'LB probe during c64: p50 / max ms', 'RSS idle MiB', 'bg CPU'],
    httpRows,
);
out(
    'wrk 4.1.0 corrects its latency histogram for coordinated omission (a response that took far longer than the ' +
        'run’s average interval per connection adds the samples a constant-rate client would have seen), so one ' +
        'connection stalled for 0.8 s weighs like hundreds of slow requests: p99 reflects stalls, as it should for a ' +
        'health endpoint. “LB probe” is a separate client (bench/lib/tools.cjs probe) that opens a new connection every ' +
        '100 ms during the -c64 run, as a load balancer’s health checker does; “ok” counts its 200s. “bg CPU” is how ' +
        'busy the whole machine was for 1 s just before the system’s runs, while it sat idle: other work that skews its row.',
);
out();
const fl = of('flaps').filter((f) => f.downs > 0);
if (fl.length) {
    out(`Check state changes to down during the load (from the readyprobe log, dependencies were up throughout): ${fl.map((f) => `${f.system} ${f.downs}`).join(', ')}.`);
    out();
}
const extra = [];
for (const r of http.filter((r) => r.conc > 0)) {
    if (r.non2xx || r.socket_errors) extra.push(`${r.system} -c${r.conc}: ${r.non2xx} non-2xx responses, ${r.socket_errors} socket errors`);
}
const maxRow = http
    .filter((r) => r.conc > 0)
    .map((r) => `${r.system} -c${r.conc} ${fms(r.max_ms)}`)
    .join(', ');
out(`Max latency (ms): ${maxRow}.`);
out();
out(extra.length ? `Errors: ${extra.join('; ')}.` : 'Every response was 2xx; no socket errors.');
out();

out('## 2. Database load against request rate');
out();
out(
    'Statements executed in database `app` during each window, from `pg_stat_statements` ' +
        '(`shared_preload_libraries`, reset before each window; exact, updated as each statement ends), ' +
        'and the connections the system held at the end of the window (`pg_stat_activity`). ' +
        '(`pg_stat_database.xact_commit` cannot be used for windows this short: PostgreSQL 15 backends flush those ' +
        'counters at most once a second while busy and up to 10 s late once idle.) The idle window is ' +
        `${meta.idle_secs} s with no HTTP load; readyprobe runs its checks every 1 s (READYPROBE_INTERVAL=1s).`,
);
out();
const dbRows = [];
for (const key of ['readyprobe', 'readyprobe-variant', 'orders-embedded', 'terminus']) {
    for (const conc of [0, 8, 64]) {
        const r = H(key, conc);
        if (!r || r.stmts === undefined) continue;
        dbRows.push([
            key,
            conc ? `wrk -c${conc}` : 'idle',
            fint(r.rps),
            fmt(r.stmts / r.secs, 2),
            r.rps ? fmt((1000 * r.stmts) / r.requests, 3) : '–',
            String(r.db_conns),
        ]);
    }
}
table(['system', 'window', 'requests/s', 'statements/s', 'statements per 1000 requests', 'DB connections held'], dbRows);

out('## 3. Detection latency');
out();
out(
    'A sidecar with one PostgreSQL check (READYPROBE_TIMEOUT=1s, READYPROBE_FALL=2, RISE=1) per interval, both ' +
        'running side by side against the same server; `/health` polled every 10 ms on a new connection ' +
        '(bench/lib/tools.cjs). The clock starts just before the fault: `stop` = SIGQUIT to the postmaster ' +
        '(PostgreSQL’s immediate shutdown; connections close, new ones are refused), `sigstop` = SIGSTOP to the ' +
        'postmaster and every backend (a hung peer: sockets stay open, nothing answers). A random pause of 0 to 1.1× ' +
        'the longest interval before each fault varies the phase against the check schedules. Bound = fall×(interval+timeout)+100 ms; ' +
        'readyprobe stretches each interval by a random 0–10 % (jitter, so that many tasks do not probe in step), ' +
        'so the bound it can promise is fall×(1.1×interval+timeout)+100 ms, the “with jitter” column.',
);
out();
table(
    ['fault', 'interval', 'runs (ms)', 'median ms', 'max ms', 'bound ms', 'bound with jitter ms', 'max within jitter bound'],
    detectGroups.map((g) => [
        g.fault,
        `${g.iv} s`,
        g.ms.map((x) => (x === null ? 'none' : fint(x))).join(', '),
        fint(g.med),
        fint(g.max),
        fint(g.bound),
        fint(g.boundJ),
        g.max !== null && g.max <= g.boundJ ? 'yes' : 'no',
    ]),
);

out('## 4. Footprint');
out();
const bins = of('binary'); // one per executable; results before the front have one, unnamed
if (foot) {
    out(
        `Idle sidecar with five checks every 1 s (postgres on a second throwaway server, redis, http to nginx, tcp, file), ` +
            `sampled from \`/proc/PID/status\` every second for ${fmt(foot.secs, 0)} s (concurrently with section 3, ` +
            'which faults a different PostgreSQL server); CPU from utime+stime in `/proc/PID/stat`.',
    );
    out();
    table(
        ['RSS avg', 'RSS max', 'VmHWM (peak)', 'of which anonymous / file-backed (end)', 'PSS (end)', 'CPU', 'threads'],
        [[
            `${fmt(foot.rss_avg_kb / 1024, 2)} MiB`,
            `${fmt(foot.rss_max_kb / 1024, 2)} MiB`,
            `${fmt(foot.hwm_kb / 1024, 2)} MiB`,
            `${fmt(foot.anon_kb / 1024, 2)} / ${fmt(foot.file_kb / 1024, 2)} MiB`,
            `${fmt(foot.pss_kb / 1024, 2)} MiB`,
            `${fmt(foot.cpu_pct, 3)} % of one core (${foot.cpu_ticks} ticks of 1/${foot.clk_tck} s)`,
            String(foot.threads),
        ]],
    );
}
for (const bin of bins) {
    out(`Binary \`${bin.name || 'readyprobe'}\`: ${fmt(bin.bytes / 1048576, 2)} MiB as built (Release), ${fmt(bin.stripped_bytes / 1048576, 2)} MiB stripped; dynamically linked against ${bin.shared_libs} shared libraries (\`ldd\`).`);
    out();
}
if (rc && cu) {
    out(
        `\`hyperfine -N --warmup ${meta.hf_warmup} --runs ${meta.hf_runs} 'readyprobe check URL' 'curl -fsS -o /dev/null URL'\` ` +
            'against a running sidecar’s `/health`:',
    );
    out();
    table(
        ['command', 'mean ms', 'median ms', 'σ ms', 'min ms', 'max ms', 'runs'],
        [rc, cu].map((c) => [`\`${c.name}\``, fms(c.mean_ms), fms(c.median_ms), fms(c.stddev_ms), fms(c.min_ms), fms(c.max_ms), String(c.runs)]),
    );
}

out('## 5. Start-up');
out();
const st = of('startup');
if (st.length) {
    out(
        'Time from spawn (Node `child_process.spawn`) to the first 200 on the liveness path and on the readiness path, ' +
            'polled every 1 ms, PostgreSQL and Redis already up; median of the runs (each run a fresh process).',
    );
    out();
    const stRows = [];
    for (const [key, live, ready] of [
        ['readyprobe', '/livez', '/health'],
        ['orders-embedded', '/livez', '/health'],
        ['terminus', '/health', '/health'],
        ['lightship', '/live', '/ready'],
    ]) {
        const runs = st.filter((r) => r.system === key);
        if (!runs.length) continue;
        stRows.push([key, `${live}: ${fms(median(runs.map((r) => r.live_ms)))}`, `${ready}: ${fms(median(runs.map((r) => r.ready_ms)))}`, runs.map((r) => fms(r.ready_ms)).join(', '), String(runs.length)]);
    }
    table(['system', 'to live 200 (ms, median)', 'to ready 200 (ms, median)', 'ready, each run (ms)', 'runs'], stRows);
}

out('## Plot');
out();
out(`![throughput, p99 latency, database load and detection latency](${pngName})`);
out();

out('## Exact commands');
out();
out('```sh');
out('bench/run            # this report; bench/run --quick for a short run');
out('cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DREADYPROBE_BUILD_TESTS=OFF && cmake --build build-bench -j2');
out('scripts/servers.sh pg-start DIR auto shared_preload_libraries=pg_stat_statements pg_stat_statements.track=top max_connections=200');
out('scripts/servers.sh pg-start DIR2 auto; scripts/servers.sh redis-start DIR3');
for (const [key] of SYSTEMS) {
    const r = of('rss').find((x) => x.system === key);
    if (r) out(`# ${key}: ${r.cmd}`);
}
for (const [key] of SYSTEMS) {
    const r = H(key, 64);
    if (r) out(`wrk -t2 -c64 -d${meta.wrk_secs}s --latency ${r.url.replace(/:\d+\//, ':PORT/')}   # and -c8`);
}
out('# detection: READYPROBE_INTERVAL=1s|5s READYPROBE_TIMEOUT=1s READYPROBE_FALL=2 READYPROBE_CHECK_DB=postgres://... readyprobe serve');
out('node bench/lib/tools.cjs detect stop|sigstop PGDATA 25000 http://127.0.0.1:PORT/health ...');
out('# footprint: READYPROBE_INTERVAL=1s READYPROBE_CHECK_{PG,REDIS,WEB,PORT,FLAG}=postgres://…,redis://…,http://…,tcp://…,file://… readyprobe serve');
out(`hyperfine -N --warmup ${meta.hf_warmup} --runs ${meta.hf_runs} 'readyprobe check http://127.0.0.1:PORT/health' 'curl -fsS -o /dev/null http://127.0.0.1:PORT/health'`);
out(`node bench/lib/tools.cjs startup ${meta.startup_runs} http://127.0.0.1:PORT/livez http://127.0.0.1:PORT/health -- readyprobe serve`);
out('```');
out();

const notes = path.join(__dirname, '..', 'notes.md');
if (fs.existsSync(notes)) {
    md.push(fs.readFileSync(notes, 'utf8').trimEnd());
    out();
}
fs.writeFileSync(outMd, md.join('\n'));

// ------------------------------------------------------------------ plot data
fs.mkdirSync(plotDir, { recursive: true });
const short = { nginx: 'nginx', readyprobe: 'readyprobe', 'readyprobe-variant': 'variant', 'orders-embedded': 'embedded', terminus: 'terminus', lightship: 'lightship' };
fs.writeFileSync(
    path.join(plotDir, 'http.dat'),
    '# system rps_c64 rps_c8 p99_c64 p99_c8\n' +
        SYSTEMS.filter(([k]) => H(k, 64))
            .map(([k]) => `${short[k]} ${H(k, 64).rps} ${H(k, 8) ? H(k, 8).rps : 0} ${H(k, 64).p99_ms} ${H(k, 8) ? H(k, 8).p99_ms : 0}`)
            .join('\n') +
        '\n',
);
for (const key of ['readyprobe', 'orders-embedded', 'terminus']) {
    const pts = [0, 8, 64].map((c) => H(key, c)).filter((r) => r && r.stmts !== undefined).sort((a, b) => a.rps - b.rps);
    fs.writeFileSync(path.join(plotDir, `db-${short[key]}.dat`), pts.map((r) => `${r.rps} ${r.stmts / r.secs}`).join('\n') + '\n');
}
fs.writeFileSync(
    path.join(plotDir, 'detect.dat'),
    '# label median max bound_jitter\n' +
        (detectGroups.length
            ? detectGroups.map((g) => `"${g.fault} ${g.iv}s" ${g.med ?? 0} ${g.max ?? 0} ${g.boundJ}`).join('\n')
            : '"not run" 0 0 0') +
        '\n',
);

// ------------------------------------------------------------------ terminal
const pad = (s, n) => String(s).padEnd(n);
const lines = [];
lines.push('');
lines.push(pad('system', 20) + pad('req/s c64', 11) + pad('p99 c64', 10) + pad('req/s c8', 10) + pad('p99 c8', 9) + pad('×nginx', 8) + pad('×lightship', 11) + pad('non2xx', 8) + pad('LB probe max', 13) + 'stmts/s idle/c8/c64');
for (const [key] of SYSTEMS) {
    const a = H(key, 64);
    const b = H(key, 8);
    if (!a) continue;
    const dbs = [0, 8, 64].map((c) => H(key, c)).map((r) => (r && r.stmts !== undefined ? fmt(r.stmts / r.secs, 1) : '-'));
    lines.push(
        pad(key, 20) + pad(fint(a.rps), 11) + pad(fms(a.p99_ms), 10) + pad(b ? fint(b.rps) : '-', 10) + pad(b ? fms(b.p99_ms) : '-', 9) +
            pad(fmt(ratio(a.rps, ng64 && ng64.rps), 2), 8) + pad(fmt(ratio(a.rps, ls64 && ls64.rps), 2), 11) +
            pad(fint((a.non2xx || 0) + ((b && b.non2xx) || 0)), 8) + pad(lb(key) ? fms(lb(key).max_ms) : '-', 13) + dbs.join(' / '),
    );
}
lines.push('');
for (const g of detectGroups) {
    lines.push(`detect ${pad(g.fault, 8)} interval ${g.iv}s: median ${fint(g.med)} ms, max ${fint(g.max)} ms (runs ${g.ms.map(fint).join(', ')}); bound ${fint(g.bound)} ms, with jitter ${fint(g.boundJ)} ms`);
}
if (foot) lines.push(`footprint: RSS ${fmt(foot.rss_avg_kb / 1024, 2)} MiB avg, ${fmt(foot.rss_max_kb / 1024, 2)} MiB max (anon ${fmt(foot.anon_kb / 1024, 2)}, file ${fmt(foot.file_kb / 1024, 2)}), CPU ${fmt(foot.cpu_pct, 3)} %, ${foot.threads} threads`);
for (const bin of bins) lines.push(`binary ${bin.name || 'readyprobe'}: ${fmt(bin.bytes / 1048576, 2)} MiB, stripped ${fmt(bin.stripped_bytes / 1048576, 2)} MiB, ${bin.shared_libs} shared libs`);
if (rc && cu) lines.push(`readyprobe check ${fms(rc.mean_ms)} ms vs curl -f ${fms(cu.mean_ms)} ms (mean of ${rc.runs})`);
for (const key of ['readyprobe', 'orders-embedded', 'terminus', 'lightship']) {
    const runs = st.filter((r) => r.system === key);
    if (runs.length) lines.push(`startup ${pad(key, 16)} live ${fms(median(runs.map((r) => r.live_ms)))} ms, ready ${fms(median(runs.map((r) => r.ready_ms)))} ms (median of ${runs.length})`);
}
lines.push('');
lines.push('targets:');
for (const [t, m, ok] of targets) lines.push(`  ${ok ? 'MET   ' : 'MISSED'} ${t}: ${m}`);
console.log(lines.join('\n'));
