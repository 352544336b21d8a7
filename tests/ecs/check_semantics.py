#!/usr/bin/env python3
"""What botocore cannot see in task-definitions/: the ranges ECS and the ALB accept, container
dependencies that can actually resolve, secrets kept out of `environment`, readyprobe
configurations the real binary accepts, and timings that agree with each other (drain, stop
timeout, deregistration delay, grace period). The arithmetic is explained in
task-definitions/README.md; the numbers here are the same ones."""

import json
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import ecslib
from ecslib import parse_duration

# Seconds the application container itself needs from `docker start` to answering its readiness
# URL. The example service is a small C++ binary that listens at once; 15 s covers Fargate's
# container start and a slow first database connection. Raise it for a slower app, and the
# service's healthCheckGracePeriodSeconds with it (task-definitions/README.md).
APP_START_BUDGET = 15

HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
ALB_RANGES = {
    "HealthCheckIntervalSeconds": (5, 300),
    "HealthCheckTimeoutSeconds": (2, 120),
    "HealthyThresholdCount": (2, 10),
    "UnhealthyThresholdCount": (2, 10),
}
# Fargate task size combinations: cpu units -> allowed memory (MiB).
FARGATE_SIZES = {
    "256": {512, 1024, 2048},
    "512": set(range(1024, 4097, 1024)),
    "1024": set(range(2048, 8193, 1024)),
    "2048": set(range(4096, 16385, 1024)),
    "4096": set(range(8192, 30721, 1024)),
}
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?)$|_KEY$", re.IGNORECASE)
SECRET_ARN = re.compile(r"^arn:aws:(secretsmanager:[a-z0-9-]+:\d{12}:secret:|ssm:[a-z0-9-]+:\d{12}:parameter/)")
ECS_IMAGE = re.compile(r"^[A-Za-z0-9./_:@#-]{1,255}$")
LOCALHOSTS = {"127.0.0.1", "localhost", "::1"}


def effective_stop_timeout(container):
    return container.get("stopTimeout", ecslib.FARGATE_DEFAULT_STOP_TIMEOUT)


def startup_latch_seconds(config):
    """Worst case from start until every critical startup check has passed `rise` times."""
    times = [(c["rise"] - 1) * parse_duration(c["interval"]) + parse_duration(c["timeout"])
             for c in config["checks"].values() if c["critical"] and "startup" in c["groups"]]
    return max(times, default=0.0)


def ready_only_seconds(config):
    """Worst case, once its target is up, until a critical ready-only check (the app) turns up:
    the next run starts within one interval, then `rise` passes."""
    times = [c["rise"] * parse_duration(c["interval"]) + parse_duration(c["timeout"])
             for c in config["checks"].values()
             if c["critical"] and "ready" in c["groups"] and "startup" not in c["groups"]]
    return max(times, default=0.0)


def check_task_definition(f, name, td, binary, configs):
    f.check(td.get("networkMode") == "awsvpc", f"{name}: networkMode must be awsvpc (Fargate, one ENI per task)")
    f.check(td.get("requiresCompatibilities") == ["FARGATE"], f"{name}: requiresCompatibilities must be [FARGATE]")
    cpu, memory = td.get("cpu"), td.get("memory")
    f.check(cpu in FARGATE_SIZES and memory is not None and int(memory) in FARGATE_SIZES[cpu],
            f"{name}: cpu {cpu} / memory {memory} is not a Fargate task size")
    containers = td["containerDefinitions"]
    names = [c["name"] for c in containers]
    f.check(len(names) == len(set(names)), f"{name}: container names repeat: {names}")
    f.check(any(c.get("essential", True) for c in containers), f"{name}: no essential container")

    for c in containers:
        where = f"{name}: container {c['name']}"
        f.check(ECS_IMAGE.match(c["image"].replace(ecslib.IMAGE_TAG_PLACEHOLDER, "v3")) is not None,
                f"{where}: image {c['image']!r} is not a valid image reference")
        log = c.get("logConfiguration", {})
        f.check(log.get("logDriver") == "awslogs"
                and {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"} <= set(log.get("options", {})),
                f"{where}: logConfiguration must be awslogs with group, region and stream prefix")
        f.check(effective_stop_timeout(c) <= ecslib.FARGATE_MAX_STOP_TIMEOUT,
                f"{where}: stopTimeout {c.get('stopTimeout')} exceeds Fargate's {ecslib.FARGATE_MAX_STOP_TIMEOUT} s")
        if "startTimeout" in c:
            f.check(2 <= c["startTimeout"] <= ecslib.FARGATE_MAX_START_TIMEOUT,
                    f"{where}: startTimeout {c['startTimeout']} outside Fargate's 2-120 s")

        # Container health check ranges (ECS rejects anything else at registration).
        hc = c.get("healthCheck")
        if hc:
            for key, (low, high) in HEALTH_RANGES.items():
                if key in hc:
                    f.check(low <= hc[key] <= high, f"{where}: healthCheck.{key} {hc[key]} outside {low}-{high}")
            f.check(hc["command"][0] in ("CMD", "CMD-SHELL"), f"{where}: healthCheck.command must start with CMD")

        # Secrets only through `secrets`, never readable in the task definition.
        for var, value in ecslib.environment(c).items():
            f.check(not SECRET_NAME.search(var), f"{where}: {var} looks like a secret: map it in `secrets`, not `environment`")
            f.check(re.search(r"://[^/@\s:]*:[^/@\s]+@", value) is None,
                    f"{where}: {var} holds a URL with user:password@; put the password in a `secrets` *_PASSWORD")
        for s in c.get("secrets", []):
            f.check(SECRET_ARN.match(s["valueFrom"]) is not None,
                    f"{where}: secret {s['name']} valueFrom is not a Secrets Manager or SSM parameter ARN")
        env_names = set(ecslib.environment(c))
        f.check(not env_names & set(ecslib.secret_names(c)), f"{where}: a name is in both environment and secrets")

        # Dependencies that can resolve.
        for dep in c.get("dependsOn", []):
            target = ecslib.container_by_name(td, dep["containerName"])
            if not f.check(target is not None, f"{where}: dependsOn unknown container {dep['containerName']}"):
                continue
            tw = f"{name}: container {target['name']}"
            if dep["condition"] == "HEALTHY":
                thc = target.get("healthCheck")
                if f.check(thc is not None, f"{where}: dependsOn {target['name']} HEALTHY, but it has no healthCheck"):
                    # The dependency should reach HEALTHY or UNHEALTHY by its own health check
                    # before startTimeout gives up on it with a vaguer reason.
                    verdict = thc.get("startPeriod", 0) + thc.get("retries", 3) * thc.get("interval", 30)
                    f.check(target.get("startTimeout", ecslib.FARGATE_MAX_START_TIMEOUT) >= verdict,
                            f"{tw}: startTimeout {target.get('startTimeout')} < startPeriod + retries x interval = {verdict}")
            if dep["condition"] in ("SUCCESS", "COMPLETE"):
                f.check(target.get("essential") is False,
                        f"{where}: dependsOn {target['name']} {dep['condition']}, which requires essential=false")
                # A one-shot readyprobe that waits (`wait --timeout D`, `guard --wait D`) must
                # give up by itself before ECS gives up on it with a vaguer reason.
                cmd = target.get("command", [])
                for verb, option in (("wait", "--timeout"), ("guard", "--wait")):
                    if cmd[:1] == [verb] and option in cmd and "startTimeout" in target:
                        wait_for = parse_duration(cmd[cmd.index(option) + 1])
                        f.check(wait_for < target["startTimeout"],
                                f"{tw}: {verb} {option} {wait_for:g}s must end before its startTimeout {target['startTimeout']}")

        # readyprobe configurations the real binary accepts, secrets masked.
        if ecslib.uses_readyprobe(c):
            f.check(ecslib.environment(c).get("READYPROBE_LOG_FORMAT") == "json",
                    f"{where}: READYPROBE_LOG_FORMAT must be json (one object per line for CloudWatch)")
            result = ecslib.readyprobe_config(binary, c)
            if f.check(result.returncode == 0,
                       f"{where}: `readyprobe config` exit {result.returncode}: {result.stderr.strip()}"):
                f.check(ecslib.DUMMY_SECRET not in result.stdout + result.stderr,
                        f"{where}: `readyprobe config` printed a secret value")
                config = json.loads(result.stdout)
                configs[(name, c["name"])] = config
                drain = parse_duration(config["drain"])
                f.check(drain < effective_stop_timeout(c),
                        f"{where}: READYPROBE_DRAIN {drain:g}s must be < stopTimeout {effective_stop_timeout(c)}s")
            for secret in ecslib.secret_names(c):
                if secret.startswith("READYPROBE_"):
                    f.check(secret.endswith("_PASSWORD"),
                            f"{where}: secret {secret}: readyprobe masks only *_PASSWORD variables and URL passwords")

        # The container health check of a readyprobe runs `readyprobe check` against /startupz:
        # it latches, so a database blip never makes ECS replace the task.
        if hc and (ecslib.is_readyprobe_image(c) or "/usr/local/bin/readyprobe" in hc["command"]):
            cmd = hc["command"]
            f.check(cmd[:3] == ["CMD", "/usr/local/bin/readyprobe", "check"],
                    f"{where}: healthCheck must be [CMD, /usr/local/bin/readyprobe, check, ...] (no shell in the image)")
            urls = [a for a in cmd[3:] if "://" in a]
            f.check(all(urlsplit(u).path == "/startupz" for u in urls),
                    f"{where}: healthCheck must probe /startupz (latched), not {urls}")
            timeout = ecslib.DEFAULT_CHECK_CLIENT_TIMEOUT
            if "--timeout" in cmd:
                timeout = cmd[cmd.index("--timeout") + 1]
            f.check(parse_duration(timeout) < hc.get("timeout", 5),
                    f"{where}: `readyprobe check --timeout` {timeout} must be shorter than healthCheck.timeout {hc.get('timeout', 5)}")
            if ecslib.is_readyprobe_image(c):
                f.check(c.get("command") in (None, ["serve"]), f"{where}: a health-checked readyprobe must run `serve`")
            else:
                ports = {p["containerPort"] for p in c.get("portMappings", [])}
                f.check(all(urlsplit(u).port in ports and urlsplit(u).hostname in LOCALHOSTS for u in urls),
                        f"{where}: healthCheck must target the container's own port on 127.0.0.1")

    # No start-up cycle: a check in the startup group of a container that others wait for must
    # not target those others on localhost (they start only after it is HEALTHY / has exited).
    for c in containers:
        dependents = [d for d in containers for dep in d.get("dependsOn", []) if dep["containerName"] == c["name"]]
        config = configs.get((name, c["name"]))
        if not dependents or config is None:
            continue
        ports = {p["containerPort"] for d in dependents for p in d.get("portMappings", [])}
        for check_name, check in config["checks"].items():
            if check["kind"] != "http" or "startup" not in check["groups"]:
                continue
            url = urlsplit(check["url"])
            f.check(not (url.hostname in LOCALHOSTS and url.port in ports),
                    f"{name}: container {c['name']}: check {check_name} targets a container that waits for it "
                    f"({check['url']}) yet is in the startup group: set READYPROBE_CHECK_{check_name.upper()}_GROUPS=ready")


DROPS = re.compile(r"([A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?(,[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?)*)?")


def check_migration_task(f, td, configs):
    """migrate.json: `guard` (readyprobe guard --drops LIST) first, then `migrate`, which ECS
    starts only when the guard exited 0; scripts/deploy.sh reads both exit codes by name."""
    migrate = ecslib.container_by_name(td, "migrate")
    guard = ecslib.container_by_name(td, "guard")
    if f.check(migrate is not None and migrate.get("essential", True),
               "migrate.json: an essential container named migrate (scripts/deploy.sh reads its exit code)"):
        cmd = migrate.get("command", [])
        f.check(cmd[:2] == ["orders-service", "migrate"] and "--to" in cmd,
                f"migrate.json: command {cmd} is not `orders-service migrate --to N`")
        f.check({"containerName": "guard", "condition": "SUCCESS"} in migrate.get("dependsOn", []),
                "migrate.json: migrate must have dependsOn guard SUCCESS (it starts only when the guard exited 0)")
    if not f.check(guard is not None and guard.get("essential") is False and ecslib.is_readyprobe_image(guard),
                   "migrate.json: a non-essential guard container running the readyprobe image"):
        return
    cmd = guard.get("command", [])
    if f.check(cmd[:2] == ["guard", "--drops"] and len(cmd) >= 3,
               f"migrate.json: guard's command {cmd} does not start with `guard --drops LIST`"):
        f.check(DROPS.fullmatch(cmd[2]) is not None,
                f"migrate.json: guard --drops {cmd[2]!r} is not table.column,table,... or ''")
    if "--wait" in cmd:
        try:
            parse_duration(cmd[cmd.index("--wait") + 1])
        except (ValueError, IndexError):
            f.check(False, f"migrate.json: guard --wait needs a duration: {cmd}")
    # Its database is the first PostgreSQL check of its configuration (no --url in the command:
    # a URL there would be readable by anyone who can describe the task definition).
    f.check("--url" not in cmd, "migrate.json: guard must take its database from READYPROBE_CHECK_* (password "
                                "in `secrets`), not --url")
    config = configs.get(("migrate.json", "guard"))
    if config is not None:
        f.check(any(c["kind"] == "postgres" for c in config["checks"].values()),
                "migrate.json: guard's configuration has no PostgreSQL check: guard would have no database")


def check_all(f, repo, binary, verbose=False):
    tds = {name: ecslib.load(repo, name) for name in ecslib.TASK_DEFINITIONS}
    configs = {}
    for name, td in tds.items():
        check_task_definition(f, name, td, binary, configs)

    check_migration_task(f, tds["migrate.json"], configs)

    # The migration pipeline can satisfy the gates: scripts/deploy.sh migrates with migrate.json
    # (to N) before it rolls out, so no app may gate on a version above N, or it never turns ready.
    migrate = ecslib.container_by_name(tds["migrate.json"], "migrate") or {}
    cmd = migrate.get("command", [])
    target_version = int(cmd[cmd.index("--to") + 1]) if "--to" in cmd else 0
    for (name, container), config in configs.items():
        for check_name, check in config["checks"].items():
            m = re.fullmatch(r"golang-migrate(>=|=)(\d+)", check.get("migration", ""))
            if m:
                f.check(int(m.group(2)) <= target_version,
                        f"{name}: {container}: check {check_name} gates on migration {m.group(2)}, "
                        f"above migrate.json's --to {target_version}: the rollout would never turn ready")
    for name, td in tds.items():
        for c in td["containerDefinitions"]:
            if not ecslib.is_readyprobe_image(c):
                f.check(ecslib.IMAGE_TAG_PLACEHOLDER in c["image"],
                        f"{name}: container {c['name']}: the app image must carry the {ecslib.IMAGE_TAG_PLACEHOLDER} "
                        "placeholder scripts/deploy.sh fills in")

    service = ecslib.load(repo, "service.json")
    tg = ecslib.load(repo, "target-group.json")
    attrs = {a["Key"]: a["Value"] for a in ecslib.load(repo, "target-group-attributes.json")["Attributes"]}

    # The ALB health check.
    for key, (low, high) in ALB_RANGES.items():
        f.check(low <= tg[key] <= high, f"target-group.json: {key} {tg[key]} outside {low}-{high}")
    f.check(tg["HealthCheckTimeoutSeconds"] < tg["HealthCheckIntervalSeconds"],
            "target-group.json: HealthCheckTimeoutSeconds must be < HealthCheckIntervalSeconds")
    f.check(tg["HealthCheckPath"] in ("/health", "/readyz"), "target-group.json: the ALB must check /health (the ready group)")
    f.check(tg["Matcher"] == {"HttpCode": "200"}, "target-group.json: Matcher must be exactly 200 (readyprobe answers 200 or 503)")
    f.check(tg["TargetType"] == "ip", "target-group.json: TargetType must be ip (awsvpc tasks register by IP)")

    # The service points at the sidecar task definition; traffic goes to the app's port, the
    # health check to the sidecar's (same task IP, so the port override on the target group works).
    families = {td["family"]: (name, td) for name, td in tds.items()}
    f.check(service["taskDefinition"] in families, f"service.json: taskDefinition {service['taskDefinition']} is none of the families here")
    td_name, td = families.get(service["taskDefinition"], (None, None))
    if td is None:
        return
    lb = service["loadBalancers"][0]
    app = ecslib.container_by_name(td, lb["containerName"])
    if f.check(app is not None, f"service.json: loadBalancers containerName {lb['containerName']} not in {td_name}"):
        f.check(not ecslib.is_readyprobe_image(app), "service.json: the load balancer must send traffic to the app, not to readyprobe")
        f.check(lb["containerPort"] in {p["containerPort"] for p in app.get("portMappings", [])},
                f"service.json: containerPort {lb['containerPort']} is not a port of container {app['name']}")
        f.check(tg["Port"] == lb["containerPort"], "target-group.json: Port must be the app's traffic port")
    probes = [(c, configs.get((td_name, c["name"]))) for c in td["containerDefinitions"] if ecslib.is_readyprobe_image(c)]
    probes = [(c, cfg) for c, cfg in probes if cfg and ecslib.listen_port(cfg) == int(tg["HealthCheckPort"])]
    if not f.check(len(probes) == 1, f"target-group.json: HealthCheckPort {tg['HealthCheckPort']} is not the readyprobe sidecar's port in {td_name}"):
        return
    sidecar, config = probes[0]
    f.check(any(p["containerPort"] == int(tg["HealthCheckPort"]) for p in sidecar.get("portMappings", [])),
            "app-with-sidecar.json: the sidecar must declare its health port in portMappings")
    f.check(service["deploymentConfiguration"].get("minimumHealthyPercent") == 100
            and service["deploymentConfiguration"].get("maximumPercent") == 200,
            "service.json: rolling deployment must keep capacity: minimumHealthyPercent 100, maximumPercent 200")
    f.check(service["deploymentConfiguration"].get("deploymentCircuitBreaker") == {"enable": True, "rollback": True},
            "service.json: deploymentCircuitBreaker must be enabled with rollback")

    # Drain: after SIGTERM readyprobe answers 503 at once and exits after READYPROBE_DRAIN. The
    # ALB stops routing after UnhealthyThresholdCount failed probes, one every interval: the
    # task must keep serving at least that long.
    drain = parse_duration(config["drain"])
    notice = tg["UnhealthyThresholdCount"] * tg["HealthCheckIntervalSeconds"]
    f.check(drain >= notice, f"READYPROBE_DRAIN {drain:g}s < the ALB's time to notice a 503, "
                             f"UnhealthyThresholdCount x interval = {notice}s")
    # The ALB must not cut connections the task is still answering: deregistration delay >= drain
    # (and >= every drain in the task, the app's embedded one too).
    dereg = int(attrs.get("deregistration_delay.timeout_seconds", "300"))
    drains = [parse_duration(cfg["drain"]) for (n, _), cfg in configs.items() if n == td_name]
    f.check(dereg >= max(drains), f"deregistration_delay.timeout_seconds {dereg} < READYPROBE_DRAIN {max(drains):g}s")

    # Grace period: from task start until the ALB first sees the target healthy.
    hc = sidecar.get("healthCheck")
    if not f.check(hc is not None, f"{td_name}: the readyprobe sidecar has no healthCheck"):
        return
    needed = (startup_latch_seconds(config) + hc["interval"]      # latch, then the next `readyprobe check`
              + APP_START_BUDGET                                  # the app starts only then
              + ready_only_seconds(config)                        # the sidecar sees the app ready
              + tg["HealthyThresholdCount"] * tg["HealthCheckIntervalSeconds"])  # the ALB's healthy threshold
    grace = service["healthCheckGracePeriodSeconds"]
    if verbose:
        print(f"grace period: needs >= {needed:g}s (latch {startup_latch_seconds(config):g} + health check {hc['interval']} "
              f"+ app start {APP_START_BUDGET} + app check {ready_only_seconds(config):g} + ALB "
              f"{tg['HealthyThresholdCount']}x{tg['HealthCheckIntervalSeconds']}), has {grace}s")
        print(f"drain: {drain:g}s >= ALB notice {notice}s, < stopTimeout {effective_stop_timeout(sidecar)}s, <= deregistration delay {dereg}s")
    f.check(grace >= needed, f"service.json: healthCheckGracePeriodSeconds {grace} < {needed:g}s needed to turn ready")
    f.check(grace <= 2 * needed, f"service.json: healthCheckGracePeriodSeconds {grace} > 2 x {needed:g}s: "
                                 "a broken deployment would take needlessly long to surface")


def env_set(container, name, value):
    env = [e for e in container["environment"] if e["name"] != name]
    if value is not None:
        env.append({"name": name, "value": value})
    container["environment"] = env


def sidecar_of(files):
    return ecslib.container_by_name(files["app-with-sidecar.json"], "readyprobe")


# Mistakes the checks must catch: (what, edit of the loaded files, text the failure must contain).
MUTATIONS = [
    ("password in environment", lambda d: env_set(sidecar_of(d), "READYPROBE_CHECK_CACHE_AUTH_TOKEN", "hunter2"),
     "looks like a secret"),
    ("URL with a password in environment",
     lambda d: env_set(sidecar_of(d), "READYPROBE_CHECK_CACHE", "redis://:hunter2@cache:6379/0"), "user:password@"),
    ("app check left in the startup group", lambda d: env_set(sidecar_of(d), "READYPROBE_CHECK_APP_GROUPS", None),
     "waits for it"),
    ("drain not below stopTimeout", lambda d: env_set(sidecar_of(d), "READYPROBE_DRAIN", "45s"), "must be < stopTimeout"),
    ("drain shorter than the ALB needs to notice", lambda d: env_set(sidecar_of(d), "READYPROBE_DRAIN", "5s"),
     "time to notice"),
    ("deregistration delay below the drain",
     lambda d: d["target-group-attributes.json"]["Attributes"][0].update(Value="10"), "deregistration_delay"),
    ("grace period too short", lambda d: d["service.json"].update(healthCheckGracePeriodSeconds=20), "needed to turn ready"),
    ("grace period far too long", lambda d: d["service.json"].update(healthCheckGracePeriodSeconds=600), "needlessly long"),
    ("container health check on /health",
     lambda d: sidecar_of(d)["healthCheck"]["command"].append("http://127.0.0.1:8081/health"), "/startupz"),
    ("SUCCESS dependency left essential",
     lambda d: d["app-with-wait-init.json"]["containerDefinitions"][0].update(essential=True), "essential=false"),
    ("HEALTHY dependency without a health check", lambda d: sidecar_of(d).pop("healthCheck"), "has no healthCheck"),
    ("health check interval out of range", lambda d: sidecar_of(d)["healthCheck"].update(interval=3), "outside 5-300"),
    ("ALB timeout not below its interval", lambda d: d["target-group.json"].update(HealthCheckTimeoutSeconds=5),
     "must be < HealthCheckIntervalSeconds"),
    ("configuration readyprobe rejects", lambda d: env_set(sidecar_of(d), "READYPROBE_CHECK_DB_POOL", "lots"),
     "`readyprobe config` exit 2"),
    ("migration gate the pipeline never reaches",
     lambda d: env_set(sidecar_of(d), "READYPROBE_CHECK_DB_MIGRATION", "golang-migrate>=4"), "above migrate.json"),
    ("migration guard left essential",
     lambda d: ecslib.container_by_name(d["migrate.json"], "guard").update(essential=True), "non-essential guard"),
    ("migration not waiting for the guard",
     lambda d: ecslib.container_by_name(d["migrate.json"], "migrate").pop("dependsOn"), "dependsOn guard SUCCESS"),
    ("migration guard without a database",
     lambda d: env_set(ecslib.container_by_name(d["migrate.json"], "guard"), "READYPROBE_CHECK_DB",
                     "redis://orders-cache.abc123.euw1.cache.amazonaws.com:6379/0"),
     "no PostgreSQL check"),
    ("migration guard's wait cut short by startTimeout",
     lambda d: ecslib.container_by_name(d["migrate.json"], "guard").update(startTimeout=120),
     "must end before its startTimeout"),
    ("traffic sent to the sidecar",
     lambda d: d["service.json"]["loadBalancers"][0].update(containerName="readyprobe", containerPort=8081),
     "must send traffic to the app"),
]


def main():
    args = ecslib.parse_args(need_binary=True)
    if not args.binary.exists():
        print(f"FAIL: {args.binary} not built (cmake --build build)")
        return 1

    # Self-test: each known mistake, written into a copy of the files, is reported.
    selftest = ecslib.Failures()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "task-definitions").mkdir()
        for what, mutate, expected in MUTATIONS:
            files = {name: ecslib.load(args.repo, name) for name in ecslib.OPERATIONS}
            mutate(files)
            for name, data in files.items():
                (Path(tmp) / "task-definitions" / name).write_text(json.dumps(data), encoding="utf-8")
            f = ecslib.Failures()
            check_all(f, tmp, args.binary)
            selftest.check(any(expected in item for item in f.items),
                           f"self-test: {what}: no failure mentioning {expected!r}; got {f.items}")
    print(f"self-test: {len(MUTATIONS) - len(selftest.items)} of {len(MUTATIONS)} planted mistakes reported")

    f = ecslib.Failures()
    f.items.extend(selftest.items)
    check_all(f, args.repo, args.binary, verbose=True)
    return f.finish("semantic checks")


if __name__ == "__main__":
    sys.exit(main())
