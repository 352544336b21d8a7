#!/usr/bin/env node
// Turns bench/fleet's results into the tables of docs/fleet.md (between its "fleet tables"
// markers; the rest of the file is hand-written) and the data files for bench/lib/fleet.gp.
//   fleet-report.cjs RESULTS.jsonl (DOCS/fleet.md | -) PLOTDIR
'use strict';
const fs = require('fs');
const path = require('path');

const [resultsFile, outMd, plotDir] = process.argv.slice(2);
const rows = fs.readFileSync(resultsFile, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
const meta = rows.find((r) => r.kind === 'meta') || {};
const fleet = rows.filter((r) => r.kind === 'fleet');
const storms = rows.filter((r) => r.kind === 'storm');
const series = [...new Set(fleet.map((r) => r.series))];
const label = {
    'direct-2s': 'direct, INTERVAL=2s (default)',
    'bouncer-2s': 'PgBouncer (transaction), INTERVAL=2s',
    'direct-10s': 'direct, INTERVAL=10s',
    'bouncer-2s-t3': 'PgBouncer (transaction), INTERVAL=2s, TIMEOUT=3s',
};
const fmt = (v, d = 0) => (v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

const md = [];
md.push(`Measured ${meta.date || '?'} on ${meta.cores || '?'} cores (${meta.cpu || '?'}), commit ${meta.commit || '?'}, ` +
    `PostgreSQL ${meta.postgres || '?'}, PgBouncer ${meta.pgbouncer || '?'}; the whole run took ${meta.secs || '?'} s ` +
    `(\`bench/fleet\`, raw results in \`bench/results-fleet.jsonl\`). Server conns: \`pg_stat_activity\` rows of database app ` +
    `(in the direct series less PgBouncer's own idle server connections left from the series before). Every sidecar runs on the same 2 cores as ` +
    `PostgreSQL, PgBouncer and the measuring scripts: "machine busy" is all of that together.`);
md.push('');
md.push('| series | N | server conns | PgBouncer clients / servers | statements/s | check runs/s | RSS per sidecar (MiB) | private (anon) per sidecar (MiB) | RSS sum (MiB) | CPU per sidecar (% of a core) | CPU sum (% of a core) | machine busy (%) |');
md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const s of series) {
    for (const r of fleet.filter((x) => x.series === s)) {
        const cpuSum = (100 * r.cpu_ticks_sum) / r.clk_tck / r.secs;
        md.push(`| ${label[s] || s} | ${r.n} | ${s.startsWith('bouncer') ? r.server_conns : r.server_conns - r.bouncer_servers} | ${s.startsWith('bouncer') ? `${r.bouncer_clients} / ${r.bouncer_servers}` : '—'} | ` +
            `${fmt(r.stmts / r.secs, 1)} | ${fmt(r.runs / r.secs, 1)} | ${fmt(r.rss_kb_sum / r.n / 1024, 1)} | ${fmt(r.anon_kb_sum / r.n / 1024, 2)} | ` +
            `${fmt(r.rss_kb_sum / 1024)} | ${fmt(cpuSum / r.n, 3)} | ${fmt(cpuSum, 1)} | ${r.machine_busy_pct} |`);
    }
}
md.push('');
md.push('The storm: with N sidecars up, PostgreSQL stopped (`pg_ctl stop -m immediate`), started again on the same port once they all answered 503 (or after 6 s) plus 1 s; connection attempts counted from its `log_connections` lines from the restart on.');
md.push('');
md.push('| series | N | saw 503 | start command (ms) | connection attempts | peak per second | peak per 100 ms | first to last attempt (ms) | accepting → all N 200 (ms) | accepting → median 200 (ms) |');
md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of storms) {
    md.push(`| ${label[r.series] || r.series} | ${r.n} | ${r.saw_503} | ${fmt(r.start_cmd_ms)} | ${r.attempts} | ${r.peak_per_s} | ${r.peak_per_100ms} | ` +
        `${fmt(r.attempts_spread_ms)} | ${r.all_ready_ms === null ? `${r.ready}/${r.n} by the end of the poll (80 s after the stop)` : fmt(r.all_ready_ms)} | ${fmt(r.median_ready_ms)} |`);
}
const tables = md.join('\n');

if (outMd === '-') {
    console.log(tables);
} else {
    const begin = '<!-- fleet tables: written by bench/fleet (bench/lib/fleet-report.cjs); do not edit by hand -->';
    const end = '<!-- end of fleet tables -->';
    let doc = fs.existsSync(outMd) ? fs.readFileSync(outMd, 'utf8') : `# Fleet\n\n${begin}\n${end}\n`;
    const a = doc.indexOf(begin);
    const b = doc.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${outMd}: the fleet tables markers are missing`);
    doc = doc.slice(0, a + begin.length) + '\n' + tables + '\n' + doc.slice(b);
    fs.writeFileSync(outMd, doc);
    console.log(tables);
}

// Plot data: one file per series, columns N, server conns, statements/s, CPU sum %, RSS sum MiB.
fs.mkdirSync(plotDir, { recursive: true });
const files = [];
for (const s of series) {
    const f = path.join(plotDir, `${s}.dat`);
    fs.writeFileSync(f, fleet.filter((x) => x.series === s).map((r) =>
        `${r.n} ${s.startsWith('bouncer') ? r.server_conns : r.server_conns - r.bouncer_servers} ${(r.stmts / r.secs).toFixed(2)} ${((100 * r.cpu_ticks_sum) / r.clk_tck / r.secs).toFixed(2)} ${(r.rss_kb_sum / 1024).toFixed(1)} ${s.startsWith('bouncer') ? r.bouncer_clients : r.server_conns}`).join('\n') + '\n');
    files.push(`${s}|${label[s] || s}`);
}
fs.writeFileSync(path.join(plotDir, 'series.txt'), files.join('\n') + '\n');
