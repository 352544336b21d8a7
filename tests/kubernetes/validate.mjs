// Offline validation of deploy/kubernetes/*.yaml, without an API server:
//  1. schema: each document through kubernetes-models (`new Kind(obj).validate()`: types,
//     required fields, enums, quantities; Kubernetes 1.36's OpenAPI schema);
//  2. unknown fields (which kubernetes-models does not report): every key checked against the
//     fields the model's type declarations know, recursively;
//  3. semantics: readyprobe is a native sidecar (init container, restartPolicy Always); its probes
//     use readyprobe's endpoints (each path answered 200 by the real binary) on the
//     READYPROBE_LISTEN port; startup /startupz, readiness /health or /readyz, liveness /livez;
//     every readyprobe environment passes the real `readyprobe config` (secrets from Secrets,
//     given dummy values, must come out masked; no password in a plain value); no startup check
//     of the Pod's own app (it starts only after the sidecar's startupProbe: it would never pass);
//     terminationGracePeriodSeconds covers preStop + drains; the migration Job reaches the version
//     the sidecar's MIGRATION gate needs, its guard's --wait leaves the migration 10 minutes of
//     activeDeadlineSeconds; the Service selects the Pods and names a real port.
// --self-test plants known mistakes in copies of the manifests and requires each to be reported.
// Usage: node validate.mjs --modules NODE_MODULES_DIR --binary READYPROBE MANIFEST_DIR [--self-test]
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
const modules = resolve(opt("--modules") ?? "");
const binary = opt("--binary");
const selfTest = args.includes("--self-test");
const dir = args.filter((a) => a !== "--self-test")[0];
if (!existsSync(join(modules, "kubernetes-models")) || !binary || !dir) {
  console.error("usage: node validate.mjs --modules NODE_MODULES_DIR --binary READYPROBE MANIFEST_DIR [--self-test]");
  process.exit(2);
}
const YAML = createRequire(join(modules, "x.js"))("yaml");
const DUMMY_SECRET = "dummy-Secret-value-0xC0FFEE";
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?)$|_KEY$/i;
// What a migration Job's activeDeadlineSeconds must leave the migration after the guard's --wait.
const MIGRATION_BUDGET = 600;

// ---------------------------------------------------------------- 1. schema
async function modelClass(doc) {
  const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : [null, doc.apiVersion];
  const file = join(modules, "kubernetes-models", group ?? "", version, `${doc.kind}.js`);
  if (!/^[A-Za-z0-9.]+$/.test(doc.kind) || !existsSync(file)) return null;
  return { cls: (await import(pathToFileURL(file)))[doc.kind], dts: file.replace(/\.js$/, ".d.ts") };
}

// ---------------------------------------------------------------- 2. unknown fields
const interfaces = new Map();
function stripComments(text) { return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, ""); }
function parseDts(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  const text = stripComments(readFileSync(file, "utf8"));
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    let target = m[2];
    if (target.startsWith(".")) target = join(dirname(file), target.replace(/\.js$/, ".d.ts"));
    else if (target.startsWith("@kubernetes-models/")) target = join(modules, `${target}.d.ts`);
    else continue;
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports.set(name.split(/\s+as\s+/).pop(), target);
  }
  const head = /export interface \w+(?:\s+extends\s+[\w<>, ]+)?\s*\{/.exec(text);
  let fields = null; // null: not an object type (a string/number alias): a leaf
  if (head) {
    fields = new Map();
    let i = head.index + head[0].length, depth = 0, current = "";
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === "}" && depth === 0) break;
      if ("{<(".includes(c)) depth++;
      if ("}>)".includes(c)) depth--;
      if (c === ";" && depth === 0) {
        const f = /^\s*"([^"]+)"\??:\s*([\s\S]*)$/.exec(current);
        if (f) fields.set(f[1], f[2].trim());
        current = "";
      } else current += c;
    }
  }
  const parsed = { fields, imports };
  interfaces.set(file, parsed);
  return parsed;
}
function checkType(value, type, iface, path, errors) {
  type = type.trim();
  const arr = /^Array<([\s\S]*)>$/.exec(type);
  if (arr) { if (Array.isArray(value)) value.forEach((v, i) => checkType(v, arr[1], iface, `${path}[${i}]`, errors)); return; }
  const map = /^\{\s*\[key: string\]:\s*([\s\S]*?);?\s*\}$/.exec(type);
  if (map) { if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) checkType(v, map[1], iface, `${path}.${k}`, errors); return; }
  const file = iface.imports.get(type);
  if (file) checkFields(value, file, path, errors);
}
function checkFields(value, file, path, errors) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return;
  const iface = parseDts(file);
  if (!iface.fields) return;
  for (const [key, v] of Object.entries(value)) {
    if (!iface.fields.has(key)) errors.push(`${path}.${key}: unknown field (not in the Kubernetes API)`);
    else checkType(v, iface.fields.get(key), iface, `${path}.${key}`, errors);
  }
}

// ---------------------------------------------------------------- 3. semantics
function durationSeconds(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text ?? "");
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
}
function containerEnv(c, where, errors) {
  const env = {};
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) env[e.name] = DUMMY_SECRET;
    else if (e.valueFrom) errors.push(`${where}: env ${e.name}: only values and secretKeyRef are checked here`);
    else {
      env[e.name] = e.value ?? "";
      if (SECRET_NAME.test(e.name)) errors.push(`${where}: env ${e.name} holds a secret in plain text: use valueFrom.secretKeyRef`);
      if (/:\/\/[^/@\s]*:[^/@\s]*@/.test(env[e.name])) errors.push(`${where}: env ${e.name} has a password in its URL: use a *_PASSWORD variable from a Secret`);
    }
  }
  return env;
}
function isReadyprobe(c) { return /(^|\/)readyprobe([:@]|$)/.test(c.image ?? ""); }
function readyprobeConfig(env) {
  return spawnSync(binary, ["config"], { env, encoding: "utf8", timeout: 20000 });
}
function resolvePort(port, containers) {
  if (typeof port === "number") return port;
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

async function semantics(docs, answered) {
  const errors = [];
  const deployments = docs.filter((d) => d.kind === "Deployment");
  const jobs = docs.filter((d) => d.kind === "Job");
  const services = docs.filter((d) => d.kind === "Service");
  if (!deployments.length) errors.push("no Deployment");
  if (!jobs.length) errors.push("no migration Job");
  const gates = [];
  for (const d of deployments) {
    const spec = d.spec?.template?.spec ?? {};
    const inits = spec.initContainers ?? [], mains = spec.containers ?? [], all = [...inits, ...mains];
    const where = `Deployment ${d.metadata?.name}`;
    const sidecars = inits.filter(isReadyprobe);
    for (const c of mains.filter(isReadyprobe)) errors.push(`${where}: ${c.name}: run readyprobe as a native sidecar (an init container with restartPolicy: Always), not in containers`);
    if (!sidecars.length) errors.push(`${where}: no readyprobe native sidecar among the initContainers`);
    let drains = 0;
    for (const c of all) {
      const cw = `${where}: container ${c.name}`;
      const env = containerEnv(c, cw, errors);
      if (!Object.keys(env).some((k) => k.startsWith("READYPROBE_"))) continue;
      const r = readyprobeConfig(env);
      if (r.status !== 0) { errors.push(`${cw}: \`readyprobe config\` exit ${r.status}: ${(r.stderr || r.error || "").toString().trim()}`); continue; }
      if ((r.stdout + r.stderr).includes(DUMMY_SECRET)) errors.push(`${cw}: \`readyprobe config\` printed a secret value`);
      const config = JSON.parse(r.stdout);
      drains += durationSeconds(config.drain);
      if (!isReadyprobe(c)) continue;
      if (c.restartPolicy !== "Always") errors.push(`${cw}: a readyprobe init container needs restartPolicy: Always (a native sidecar), or the app never starts`);
      const listenPort = Number(config.listen.split(":").pop());
      const probes = { startupProbe: ["/startupz"], readinessProbe: ["/health", "/readyz"], livenessProbe: ["/livez"] };
      for (const [kind, paths] of Object.entries(probes)) {
        const p = c[kind];
        if (!p) { if (kind !== "livenessProbe") errors.push(`${cw}: no ${kind} (${paths[0]})`); continue; }
        const get = p.httpGet;
        if (!get) { errors.push(`${cw}: ${kind} must be an httpGet of ${paths.join(" or ")}`); continue; }
        const path = get.path ?? "/";
        const base = path.split("?")[0].split("/").slice(0, 2).join("/");
        if (!paths.includes(base)) errors.push(`${cw}: ${kind} probes ${path}; it must be ${paths.join(" or ")}${kind === "livenessProbe" ? " (a dependency outage must not restart the container)" : ""}`);
        else if ((await answered(path)) !== 200) errors.push(`${cw}: ${kind} path ${path} is not a readyprobe endpoint (the binary answered ${await answered(path)})`);
        const port = resolvePort(get.port, [c]);
        if (port !== listenPort) errors.push(`${cw}: ${kind} port ${JSON.stringify(get.port)} (${port}) is not READYPROBE_LISTEN's port ${listenPort}`);
        if ((get.scheme ?? "HTTP") !== "HTTP") errors.push(`${cw}: ${kind}: readyprobe serves plain HTTP`);
      }
      const ports = (c.ports ?? []).map((p) => p.containerPort);
      if (!ports.includes(listenPort)) errors.push(`${cw}: READYPROBE_LISTEN port ${listenPort} is not among its ports ${JSON.stringify(ports)}`);
      if (c.startupProbe) {
        for (const [name, check] of Object.entries(config.checks ?? {})) {
          const host = (() => { try { return new URL(check.url.replace(/^\w+:/, "http:")).hostname.replace(/^\[|\]$/g, ""); } catch { return ""; } })();
          if (check.groups.includes("startup") && check.critical && ["127.0.0.1", "localhost", "::1"].includes(host))
            errors.push(`${cw}: check ${name} targets the Pod itself (${host}) in the startup group: the app starts only after this sidecar's startupProbe passes, so it never would (GROUPS=ready)`);
        }
      }
      for (const [name, check] of Object.entries(config.checks ?? {})) {
        const m = /^golang-migrate>=(\d+)$/.exec(check.migration ?? env[`READYPROBE_CHECK_${name.toUpperCase()}_MIGRATION`] ?? "");
        if (m) gates.push({ where: `${cw}: check ${name}`, version: Number(m[1]) });
      }
    }
    let preStop = 0;
    for (const c of mains) preStop = Math.max(preStop, c.lifecycle?.preStop?.sleep?.seconds ?? 0);
    if (!mains.some((c) => c.lifecycle?.preStop)) errors.push(`${where}: no preStop on the app container: it gets SIGTERM while endpoints still send it traffic`);
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    if (!(grace > preStop + drains)) errors.push(`${where}: terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop}s + the drains ${drains}s, or the kubelet kills it mid-drain`);
    for (const s of services) {
      const sel = Object.entries(s.spec?.selector ?? {});
      const labels = d.spec?.template?.metadata?.labels ?? {};
      if (!sel.length || !sel.every(([k, v]) => labels[k] === v)) errors.push(`Service ${s.metadata?.name}: its selector does not select ${where}'s Pods`);
      for (const p of s.spec?.ports ?? []) {
        if (resolvePort(p.targetPort ?? p.port, mains) === undefined) errors.push(`Service ${s.metadata?.name}: targetPort ${p.targetPort} is no port of the app container`);
      }
    }
  }
  for (const j of jobs) {
    const where = `Job ${j.metadata?.name}`;
    const c = j.spec?.template?.spec?.containers?.[0] ?? {};
    containerEnv(c, where, errors);
    const cmd = [...(c.command ?? []), ...(c.args ?? [])];
    const to = cmd[0] === "orders-service" && cmd[1] === "migrate" && cmd[2] === "--to" && /^\d+$/.test(cmd[3] ?? "") ? Number(cmd[3]) : null;
    if (to === null) { errors.push(`${where}: command must be orders-service migrate --to N, not ${JSON.stringify(cmd)}`); continue; }
    if (j.spec?.template?.spec?.restartPolicy !== "Never") errors.push(`${where}: restartPolicy must be Never (a failed migration is looked at, not restarted in place)`);
    // The guard: a plain init container (it must finish, exit 0, before the migration starts),
    // running `readyprobe guard --drops ...` with a configuration `readyprobe config` accepts.
    const guards = (j.spec?.template?.spec?.initContainers ?? []).filter(isReadyprobe);
    const guard = guards.find((g) => [...(g.command ?? []), ...(g.args ?? [])][0] === "guard");
    if (!guard) errors.push(`${where}: no readyprobe guard init container before the migration`);
    else {
      const gw = `${where}: init container ${guard.name}`;
      const gcmd = [...(guard.command ?? []), ...(guard.args ?? [])];
      if (guard.restartPolicy === "Always") errors.push(`${gw}: a guard must run to completion before the migration, not as a sidecar (no restartPolicy: Always)`);
      if (!gcmd.includes("--drops") && !gcmd.includes("--sql")) errors.push(`${gw}: guard needs --drops LIST or --sql FILE`);
      // The Job's deadline counts from its start, the guard's wait included: leave the migration
      // itself at least MIGRATION_BUDGET seconds after the longest the guard may wait.
      const waitArg = gcmd.flatMap((a, i) => a === "--wait" ? [gcmd[i + 1] ?? ""] : a.startsWith("--wait=") ? [a.slice(7)] : []).pop();
      const deadline = j.spec?.activeDeadlineSeconds;
      if (waitArg !== undefined) {
        const wait = durationSeconds(waitArg);
        if (!(wait > 0)) errors.push(`${gw}: --wait ${JSON.stringify(waitArg)} is not a duration such as 10m, 30s or 1h`);
        else if (deadline !== undefined && wait > deadline - MIGRATION_BUDGET)
          errors.push(`${where}: the guard's --wait ${waitArg} (${wait} s) leaves the migration less than ${MIGRATION_BUDGET} s of activeDeadlineSeconds ${deadline}: raise it to at least ${Math.ceil(wait) + MIGRATION_BUDGET}`);
      }
      const genv = containerEnv(guard, gw, errors);
      const r = readyprobeConfig(genv);
      if (r.status !== 0) errors.push(`${gw}: \`readyprobe config\` exit ${r.status}: ${(r.stderr || r.error || "").toString().trim()}`);
      else if (!Object.values(JSON.parse(r.stdout).checks ?? {}).some((c) => c.kind === "postgres") && !gcmd.includes("--url")) errors.push(`${gw}: no database for the guard (a PostgreSQL check or --url)`);
    }
    for (const g of gates) if (g.version > to) errors.push(`${g.where}: gates on golang-migrate>=${g.version} but ${where} migrates only --to ${to}`);
  }
  return errors;
}

// ---------------------------------------------------------------- running
async function validate(files, answered) {
  const errors = [];
  const docs = [];
  for (const { name, docs: list } of files) {
    for (const [i, doc] of list.entries()) {
      const where = `${name}#${i + 1} ${doc?.kind ?? "?"}`;
      if (!doc || typeof doc !== "object") { errors.push(`${where}: not a mapping`); continue; }
      const model = doc.apiVersion && doc.kind ? await modelClass(doc) : null;
      if (!model) { errors.push(`${where}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`); continue; }
      try { new model.cls(structuredClone(doc)).validate(); } catch (e) { errors.push(`${where}: schema: ${e.message}`); }
      checkFields(doc, model.dts, where, errors);
      docs.push(doc);
    }
  }
  return errors.concat(await semantics(docs, answered));
}

function freePort() {
  return new Promise((res) => { const s = createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); }); });
}
// The real binary, serving with no checks (so every endpoint it has answers 200): a probe path a
// manifest names must answer 200 there. It runs while the manifests are checked.
async function startOracle() {
  const port = await freePort();
  const child = spawn(binary, ["serve"], { env: { READYPROBE_LISTEN: `127.0.0.1:${port}` }, stdio: "ignore" });
  process.on("exit", () => child.kill("SIGKILL"));
  const codes = new Map();
  const answered = async (path) => {
    if (!codes.has(path)) {
      let code = 0;
      try { code = (await fetch(`http://127.0.0.1:${port}${path}`)).status; } catch { /* not serving */ }
      codes.set(path, code);
    }
    return codes.get(path);
  };
  for (let i = 0; i < 100; i++) {
    try { await fetch(`http://127.0.0.1:${port}/livez`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  return { answered, stop: () => child.kill("SIGKILL") };
}

const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((name) => {
  const parsed = YAML.parseAllDocuments(readFileSync(join(dir, name), "utf8"));
  for (const d of parsed) if (d.errors.length) { console.error(`FAIL: ${name}: YAML: ${d.errors[0].message}`); process.exit(1); }
  return { name, docs: parsed.map((d) => d.toJS()).filter((d) => d !== null) };
});
if (!files.length) { console.error(`FAIL: no YAML files in ${dir}`); process.exit(1); }

const { answered, stop } = await startOracle();
if ((await answered("/health")) !== 200 || (await answered("/healthz")) !== 404) {
  console.error(`FAIL: readyprobe serve with no checks answered /health ${await answered("/health")}, /healthz ${await answered("/healthz")}`);
  process.exit(1);
}

let failed = 0, passed = 0;
const errors = await validate(files, answered);
for (const e of errors) console.log(`FAIL: ${e}`);
if (errors.length) failed++; else passed++;
console.log(`${errors.length ? "FAIL" : "ok"}: ${files.map((f) => f.name).join(", ")}: ${files.reduce((n, f) => n + f.docs.length, 0)} documents, schema + unknown fields + semantics`);

if (selfTest) {
  // [description, what the report must say, mutation of a copy of the manifests]
  const dep = (fs) => fs.flatMap((f) => f.docs).find((d) => d.kind === "Deployment");
  const side = (fs) => dep(fs).spec.template.spec.initContainers.find(isReadyprobe);
  const app = (fs) => dep(fs).spec.template.spec.containers[0];
  const envOf = (c, name) => c.env.find((e) => e.name === name);
  const cases = [
    ["a misspelt field", "readinesProbe: unknown field", (fs) => { const c = side(fs); c.readinesProbe = c.readinessProbe; delete c.readinessProbe; }],
    ["an unknown field deep inside", "httpGet.paht: unknown field", (fs) => { side(fs).startupProbe.httpGet.paht = "/x"; }],
    ["a wrong type", "must be integer", (fs) => { side(fs).ports[0].containerPort = "8081"; }],
    ["a missing required field", "must have required property", (fs) => { delete app(fs).name; }],
    ["readyprobe not a native sidecar", "restartPolicy: Always", (fs) => { delete side(fs).restartPolicy; }],
    ["readyprobe among the app containers", "native sidecar", (fs) => { const d = dep(fs).spec.template.spec; d.containers.push(d.initContainers.shift()); }],
    ["a readiness path readyprobe does not serve", "readinessProbe probes /healthz", (fs) => { side(fs).readinessProbe.httpGet.path = "/healthz"; }],
    ["a probe path readyprobe does not serve", "is not a readyprobe endpoint", (fs) => { side(fs).livenessProbe.httpGet.path = "/livez/db/x"; }],
    ["a liveness probe on /health", "must not restart", (fs) => { side(fs).livenessProbe.httpGet.path = "/health"; }],
    ["a probe on the app's port", "is not READYPROBE_LISTEN's port", (fs) => { side(fs).startupProbe.httpGet.port = 8080; }],
    ["a bad readyprobe setting", "`readyprobe config` exit 2", (fs) => { side(fs).env.push({ name: "READYPROBE_CHECK_DB_INTERVAL", value: "fast" }); }],
    ["a password in plain text", "holds a secret in plain text", (fs) => { const e = envOf(side(fs), "READYPROBE_CHECK_DB_PASSWORD"); delete e.valueFrom; e.value = "hunter2"; }],
    ["a startup check of the app itself", "never would", (fs) => { const c = side(fs); c.env = c.env.filter((e) => e.name !== "READYPROBE_CHECK_APP_GROUPS"); }],
    ["a grace period shorter than the drain", "terminationGracePeriodSeconds 5", (fs) => { dep(fs).spec.template.spec.terminationGracePeriodSeconds = 5; }],
    ["no preStop", "no preStop", (fs) => { delete app(fs).lifecycle; }],
    ["a migration Job behind the gate", "migrates only --to 2", (fs) => { fs.flatMap((f) => f.docs).find((d) => d.kind === "Job").spec.template.spec.containers[0].command[3] = "2"; }],
    ["a migration Job without its guard", "no readyprobe guard init container", (fs) => { delete fs.flatMap((f) => f.docs).find((d) => d.kind === "Job").spec.template.spec.initContainers; }],
    ["a guard waiting most of the Job's deadline", "leaves the migration less than 600 s of activeDeadlineSeconds", (fs) => { const g = fs.flatMap((f) => f.docs).find((d) => d.kind === "Job").spec.template.spec.initContainers[0]; g.args[g.args.indexOf("--wait") + 1] = "35m"; }],
    ["a guard as a sidecar", "run to completion before the migration", (fs) => { fs.flatMap((f) => f.docs).find((d) => d.kind === "Job").spec.template.spec.initContainers[0].restartPolicy = "Always"; }],
    ["a Service selecting nothing", "does not select", (fs) => { fs.flatMap((f) => f.docs).find((d) => d.kind === "Service").spec.selector = { app: "other" }; }],
  ];
  for (const [what, expect, mutate] of cases) {
    const copy = structuredClone(files);
    mutate(copy);
    const found = await validate(copy, answered);
    if (found.some((e) => e.includes(expect))) { passed++; console.log(`ok: self-test: ${what} is reported (${expect})`); }
    else { failed++; console.log(`FAIL: self-test: ${what} was not reported as '${expect}'; got: ${found.join(" | ") || "nothing"}`); }
  }
}
stop();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
