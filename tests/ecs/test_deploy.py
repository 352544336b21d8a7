#!/usr/bin/env python3
"""scripts/deploy.sh: the pipeline order (register, run the migration, wait for it to stop,
read its exit codes, update the service, wait until stable), --dry-run without aws, bad usage,
and the real path against a fake `aws` that records its calls: a failed migration or a refusing
guard stops the deploy before the service is touched (also when ECS stopped the never-started
migrate container with 143), the waiter's rounds follow the guard's --wait and giving up stops the
migration task, a circuit-breaker rollback fails it."""

import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import ecslib

GOOD = ["--cluster", "orders", "--service", "orders-service", "--subnets", "subnet-1,subnet-2",
        "--security-groups", "sg-1", "--image-tag", "v3.1.0"]
EXPECTED = [  # (aws words that identify the step) in pipeline order
    ("ecs", "register-task-definition"),  # migration task definition
    ("ecs", "register-task-definition"),  # app task definition
    ("ecs", "run-task"),
    ("ecs", "wait", "tasks-stopped"),
    ("ecs", "describe-tasks"),
    ("ecs", "update-service"),
    ("ecs", "wait", "services-stable"),
    ("ecs", "describe-services"),
]

# A stand-in for the AWS CLI: records each call (argv as JSON) and answers like the real one.
FAKE_AWS = textwrap.dedent('''\
    import json, os, sys
    args = sys.argv[1:]
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(args) + "\\n")
    def opt(name):
        return args[args.index(name) + 1]
    if "register-task-definition" in args:
        path = opt("--cli-input-json")[len("file://"):]
        td = json.load(open(path))
        with open(os.environ["FAKE_AWS_LOG"] + ".rendered", "a") as out:
            out.write(json.dumps(td) + "\\n")
        print(f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{td['family']}:7")
    elif "run-task" in args:
        print("arn:aws:ecs:eu-west-1:123456789012:task/orders/0123456789abcdef")
    elif "tasks-stopped" in args:
        # FAKE_WAIT_FAILS=N: the first N waits give up as the real waiter does after 10 minutes.
        count = os.environ["FAKE_AWS_LOG"] + ".waits"
        done = int(open(count).read()) if os.path.exists(count) else 0
        open(count, "w").write(str(done + 1))
        if done < int(os.environ.get("FAKE_WAIT_FAILS", "0")):
            print("\\nWaiter TasksStopped failed: Max attempts exceeded", file=sys.stderr)
            sys.exit(255)
    elif "stop-task" in args:
        if os.environ.get("FAKE_STOP_FAILS"):
            sys.exit("An error occurred (AccessDeniedException) when calling the StopTask operation")
        print("STOPPED")  # desiredStatus; lastStatus catches up later
    elif "describe-tasks" in args:
        query = opt("--query")
        if "stoppedReason" in query:
            print(os.environ.get("FAKE_STOPPED_REASON", "Essential container in task exited"))
        elif query == ("tasks[0].[containers[?name=='guard'].exitCode | [0], "
                       "containers[?name=='migrate'].exitCode | [0]]"):
            # What `--output text` prints for a list of two scalars: one line, tab-separated.
            print(os.environ.get("FAKE_GUARD_EXIT", "0") + "\t" + os.environ.get("FAKE_MIGRATION_EXIT", "0"))
        else:
            sys.exit(f"fake aws: unexpected describe-tasks query {query!r}")
    elif "describe-services" in args:
        family = os.environ.get("FAKE_PRIMARY_FAMILY", "orders-service")
        revision = os.environ.get("FAKE_PRIMARY_REVISION", "7")
        print(f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:{revision}\\tCOMPLETED")
    elif "update-service" in args:
        print("arn:aws:ecs:eu-west-1:123456789012:service/orders/orders-service")
    sys.exit(0)
''')


def steps(calls):
    """The identifying words of each aws call, e.g. ('ecs', 'wait', 'tasks-stopped')."""
    out = []
    for argv in calls:
        words = [a for a in argv if not a.startswith("-")]
        i = words.index("ecs")
        out.append(tuple(words[i:i + 3]) if words[i + 1] == "wait" else tuple(words[i:i + 2]))
    return out


def overrides_of(calls):
    """run-task's --overrides as {container name: command}, or None without --overrides."""
    run_task = next((c for c in calls if "run-task" in c), [])
    if "--overrides" not in run_task:
        return None
    parsed = json.loads(run_task[run_task.index("--overrides") + 1])
    return {o["name"]: o["command"] for o in parsed["containerOverrides"]}


def main():
    args = ecslib.parse_args()
    script = Path(args.repo) / "scripts" / "deploy.sh"
    f = ecslib.Failures()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bindir = tmp / "bin"
        bindir.mkdir()
        (bindir / "aws").write_text(f"#!{sys.executable}\n" + FAKE_AWS)
        (bindir / "aws").chmod(0o755)
        log = tmp / "aws.log"
        base_env = {"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_AWS_LOG": str(log), "TMPDIR": str(tmp)}

        def deploy(argv, **extra):
            for p in (log, Path(str(log) + ".rendered"), Path(str(log) + ".waits")):
                p.unlink(missing_ok=True)
            env = dict(base_env, **extra)
            r = subprocess.run(["bash", str(script), *argv], env=env, capture_output=True, text=True, timeout=20)
            calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            return r, calls

        # --dry-run: every command printed with "+ ", in pipeline order, and aws never called.
        r, calls = deploy(["--dry-run", *GOOD])
        f.check(r.returncode == 0, f"--dry-run exit {r.returncode}: {r.stderr}")
        f.check(not calls, f"--dry-run called aws: {calls}")
        printed = [line[2:].split() for line in r.stdout.splitlines() if line.startswith("+ ")]
        f.check(all(p[0] == "aws" for p in printed), f"--dry-run printed a non-aws command: {printed}")
        f.check(steps(printed) == EXPECTED, f"--dry-run order:\n  got      {steps(printed)}\n  expected {EXPECTED}")
        f.check(any("migrate.json" in " ".join(p) for p in printed[:1])
                and any("app-with-sidecar.json" in " ".join(p) for p in printed[1:2]),
                "--dry-run: register the migration task definition, then the app's")
        describe = next((" ".join(p) for p in printed if "describe-tasks" in p), "")
        f.check("name=='guard'" in describe and "name=='migrate'" in describe,
                f"--dry-run: describe-tasks must read the guard's and the migration's exit codes: {describe}")
        print("dry run:\n" + r.stdout)

        # No aws installed at all: --dry-run still works, a real run refuses in one line.
        if shutil.which("aws", path="/usr/bin:/bin") is None:
            env = dict(base_env, PATH="/usr/bin:/bin")
            r = subprocess.run(["bash", str(script), "--dry-run", *GOOD], env=env, capture_output=True, text=True)
            f.check(r.returncode == 0, f"--dry-run without aws installed: exit {r.returncode}: {r.stderr}")
            r = subprocess.run(["bash", str(script), *GOOD], env=env, capture_output=True, text=True)
            f.check(r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "aws" in r.stderr,
                    f"real run without aws: expected one line and exit 1, got {r.returncode}: {r.stderr!r}")

        # A real run (fake aws): same calls, the image tag filled in, --migrate-to overrides the command.
        r, calls = deploy([*GOOD, "--migrate-to", "4"])
        f.check(r.returncode == 0, f"deploy exit {r.returncode}: {r.stderr}")
        f.check(steps(calls) == EXPECTED, f"deploy calls:\n  got      {steps(calls)}\n  expected {EXPECTED}")
        rendered = [json.loads(x) for x in Path(str(log) + ".rendered").read_text().splitlines()] if calls else []
        images = [c["image"] for td in rendered for c in td["containerDefinitions"]]
        f.check(rendered and all("${IMAGE_TAG}" not in i for i in images)
                and any(i.endswith("/orders-service:v3.1.0") for i in images),
                f"registered images do not carry the tag: {images}")
        run_task = next((c for c in calls if "run-task" in c), [])
        f.check(overrides_of(calls) == {"migrate": ["orders-service", "migrate", "--to", "4"]},
                f"--migrate-to 4 not passed as the one command override: {run_task}")
        f.check("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service-migrate:7" in run_task,
                "run-task must use the ARN register-task-definition returned")
        update = next((c for c in calls if "update-service" in c), [])
        f.check("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7" in update,
                f"update-service must use the registered app ARN: {update}")

        # Without --drops or --migrate-to the task definition's commands run as they are.
        r, calls = deploy(GOOD)
        f.check(r.returncode == 0 and overrides_of(calls) is None, f"no --drops/--migrate-to: overrides {overrides_of(calls)}")

        # --drops: the guard container's command, in the same --overrides as --migrate-to's; the
        # empty list (a release that drops nothing) passed as an empty argument; GUARD_* from env.
        guard_cases = [
            (["--migrate-to", "4", "--drops", "orders.customer_name"], {},
             {"guard": ["guard", "--drops", "orders.customer_name", "--wait", "10m"],
              "migrate": ["orders-service", "migrate", "--to", "4"]}),
            (["--drops", "", "--guard-wait", "30s"], {}, {"guard": ["guard", "--drops", "", "--wait", "30s"]}),
            ([], {"GUARD_DROPS": "legacy,orders.customer_name", "GUARD_WAIT": "1h"},
             {"guard": ["guard", "--drops", "legacy,orders.customer_name", "--wait", "1h"]}),
            ([], {"GUARD_DROPS": ""}, {"guard": ["guard", "--drops", "", "--wait", "10m"]}),
        ]
        for argv, env, expected in guard_cases:
            r, calls = deploy([*GOOD, *argv], **env)
            f.check(r.returncode == 0 and steps(calls) == EXPECTED,
                    f"{argv} {env}: deploy exit {r.returncode}, calls {steps(calls)}: {r.stderr}")
            f.check(overrides_of(calls) == expected, f"{argv} {env}: overrides {overrides_of(calls)}, expected {expected}")

        # The guard refused (1) or could not run (2): migrate never started (no exit code), and
        # the service is never updated; the message says which layer stopped it.
        for guard, says in (("1", "the guard refused the migration (a live task still requires what it drops: "
                                  "see the guard container's log): the service was not updated"),
                            ("2", "the guard could not run (bad usage or database unreachable"),
                            ("137", "the guard exited 137 (Essential container in task exited)")):
            r, calls = deploy([*GOOD, "--migrate-to", "4", "--drops", "orders.customer_name"],
                              FAKE_GUARD_EXIT=guard, FAKE_MIGRATION_EXIT="None")
            f.check(r.returncode == 1, f"guard exit {guard}: deploy exit {r.returncode}, expected 1")
            f.check(("ecs", "update-service") not in steps(calls), f"guard exit {guard}: the service was updated anyway")
            f.check(says in r.stderr and len(r.stderr.splitlines()) == 1,
                    f"guard exit {guard}: expected one line with {says!r}: {r.stderr!r}")

        # The guard passed but the migration failed (or never ran): the migration's messages.
        for code in ("1", "None"):
            r, calls = deploy(GOOD, FAKE_MIGRATION_EXIT=code)
            f.check(r.returncode == 1, f"migration exit {code}: deploy exit {r.returncode}, expected 1")
            f.check(("ecs", "update-service") not in steps(calls), f"migration exit {code}: the service was updated anyway")
            f.check("not updated" in r.stderr and len(r.stderr.splitlines()) == 1 and "the migration exited" in r.stderr,
                    f"migration exit {code}: expected one line saying the service was not updated: {r.stderr!r}")

        # Current ECS agents, when the guard's SUCCESS dependency fails, stop the migrate container
        # with 143 and a dependency-graph stoppedReason (aws/amazon-ecs-agent PR #3218): the guard
        # is what stopped the deploy, and its exit code is what the message reports.
        dependency = ("CannotStartContainerError: dependency graph: failed to resolve container ordering "
                      "dependency [guard] for target [migrate] as dependency did not meet desired state "
                      "[SUCCESS]")
        for argv, guard, says in (
                ([], "1", "the guard refused the migration"),
                (["--drops", "orders.customer_name"], "1", "the guard refused the migration"),
                ([], "2", "the guard could not run"),
                ([], "137", "the guard exited 137 (CannotStartContainerError: dependency graph")):
            r, calls = deploy([*GOOD, *argv], FAKE_GUARD_EXIT=guard, FAKE_MIGRATION_EXIT="143",
                              FAKE_STOPPED_REASON=dependency)
            f.check(r.returncode == 1 and ("ecs", "update-service") not in steps(calls),
                    f"guard {guard}, migrate 143 {argv}: deploy exit {r.returncode}, calls {steps(calls)}")
            f.check(r.stderr.startswith("deploy: " + says) and "the migration exited" not in r.stderr
                    and len(r.stderr.splitlines()) == 1,
                    f"guard {guard}, migrate 143 {argv}: expected one line starting {says!r}: {r.stderr!r}")

        # The waiter's rounds: one for the migration, one more per 10 minutes the guard may wait
        # (the task definition's --wait 10m: 2). FAKE_WAIT_FAILS=N: the first N waits give up.
        task_arn = "arn:aws:ecs:eu-west-1:123456789012:task/orders/0123456789abcdef"

        def waits(calls):
            return steps(calls).count(("ecs", "wait", "tasks-stopped"))

        def variant(name, wait_args):
            """migrate.json with the guard's command ending in WAIT_ARGS instead of --wait 10m."""
            td = json.loads((Path(args.repo) / "task-definitions" / "migrate.json").read_text())
            guard = next(c for c in td["containerDefinitions"] if c["name"] == "guard")
            guard["command"] = ["guard", "--drops", "", *wait_args]
            out = tmp / f"migrate-{name}.json"
            out.write_text(json.dumps(td, indent=2))
            return str(out)

        r, calls = deploy(GOOD, FAKE_WAIT_FAILS="1")
        f.check(r.returncode == 0 and waits(calls) == 2 and steps(calls)[-3:] == EXPECTED[-3:],
                f"one waiter round ran out, the second saw the task stop: exit {r.returncode}, "
                f"{waits(calls)} waits: {r.stderr}")

        # Giving up stops the task (else it may migrate later with nobody watching), says so, and
        # updates nothing.
        def gave_up(what, calls, r, rounds, stopped=True):
            stop = [c for c in calls if "stop-task" in c]
            f.check(r.returncode == 1, f"{what}: deploy exit {r.returncode}, expected 1")
            f.check(waits(calls) == rounds, f"{what}: {waits(calls)} waiter rounds, expected {rounds}")
            f.check(len(stop) == 1 and stop[0][stop[0].index("--cluster") + 1] == "orders"
                    and stop[0][stop[0].index("--task") + 1] == task_arn
                    and stop[0][stop[0].index("--reason") + 1] == "readyprobe deploy gave up waiting",
                    f"{what}: expected one stop-task --cluster orders --task {task_arn} --reason "
                    f"'readyprobe deploy gave up waiting': {stop}")
            f.check(steps(calls)[-1] == ("ecs", "stop-task") and ("ecs", "update-service") not in steps(calls),
                    f"{what}: stop-task must be the last call, and the service not updated: {steps(calls)}")
            last = r.stderr.splitlines()[-1] if r.stderr else ""
            says = (f"did not stop within the waiter's {rounds * 10} minutes: ECS is stopping it (aws ecs stop-task)"
                    if stopped else "stopping it failed: stop it yourself")
            f.check(last.startswith("deploy: the migration task ") and says in last
                    and "the service was not updated" in last,
                    f"{what}: expected a last line saying {says!r}: {r.stderr!r}")

        r, calls = deploy(GOOD, FAKE_WAIT_FAILS="99")
        gave_up("task definition's --wait 10m", calls, r, 2)
        r, calls = deploy(GOOD, FAKE_WAIT_FAILS="99", FAKE_STOP_FAILS="1")
        gave_up("stop-task failing", calls, r, 2, stopped=False)

        # Without --drops, the rounds follow the task definition's own --wait (45m: 6 rounds), not
        # --guard-wait's default; with --drops, --guard-wait replaces it (30s: 2 rounds).
        long_wait = variant("wait-45m", ["--wait", "45m"])
        r, calls = deploy([*GOOD, "--migration-task-definition", long_wait], FAKE_WAIT_FAILS="5")
        f.check(r.returncode == 0 and waits(calls) == 6,
                f"guard --wait 45m: 5 rounds ran out, the 6th must still wait: exit {r.returncode}, "
                f"{waits(calls)} waits: {r.stderr}")
        r, calls = deploy([*GOOD, "--migration-task-definition", long_wait], FAKE_WAIT_FAILS="99")
        gave_up("guard --wait 45m", calls, r, 6)
        r, calls = deploy([*GOOD, "--migration-task-definition", variant("wait-eq", ["--wait=1.5h"])],
                          FAKE_WAIT_FAILS="99")
        gave_up("guard --wait=1.5h", calls, r, 10)
        r, calls = deploy([*GOOD, "--migration-task-definition", long_wait, "--drops", "orders",
                           "--guard-wait", "30s"], FAKE_WAIT_FAILS="99")
        gave_up("--drops with --guard-wait 30s over the task definition's 45m", calls, r, 2)
        r, calls = deploy([*GOOD, "--migration-task-definition", variant("no-wait", [])], FAKE_WAIT_FAILS="99")
        gave_up("a guard that does not wait", calls, r, 1)

        # A migration task definition without a guard container (an older one): its guard exit
        # code (None) is not read as a failure; --drops is refused before anything runs.
        solo = json.loads((Path(args.repo) / "task-definitions" / "migrate.json").read_text())
        solo["containerDefinitions"] = [c for c in solo["containerDefinitions"] if c["name"] == "migrate"]
        solo["containerDefinitions"][0].pop("dependsOn", None)
        solo_file = tmp / "migrate-solo.json"
        solo_file.write_text(json.dumps(solo, indent=2))
        r, calls = deploy([*GOOD, "--migration-task-definition", str(solo_file)], FAKE_GUARD_EXIT="None")
        f.check(r.returncode == 0 and steps(calls) == EXPECTED,
                f"migration task without a guard: deploy exit {r.returncode}: {r.stderr}")
        r, calls = deploy([*GOOD, "--migration-task-definition", str(solo_file)], FAKE_WAIT_FAILS="99")
        gave_up("migration task without a guard", calls, r, 1)

        # The circuit breaker rolled back: services-stable succeeds, the deploy must not.
        r, calls = deploy(GOOD, FAKE_PRIMARY_REVISION="6")
        f.check(r.returncode == 1 and "rolled back" in r.stderr, f"rollback not reported: {r.returncode} {r.stderr!r}")

        # Bad usage: one line on stderr, exit 2, nothing run.
        bad = {
            "no arguments": [],
            "unknown option": [*GOOD, "--bogus"],
            "option without its value": [*GOOD, "--cluster"],
            "missing image tag": GOOD[:-2],
            "invalid image tag": [*GOOD[:-1], "v3 latest"],
            "non-numeric migration version": [*GOOD, "--migrate-to", "four"],
            "bad public IP choice": [*GOOD, "--assign-public-ip", "yes"],
            "missing task definition file": [*GOOD, "--task-definition", str(tmp / "nope.json")],
            "--drops not a table list": [*GOOD, "--drops", "orders.customer_name;drop"],
            "--drops with a schema-qualified column": [*GOOD, "--drops", "public.orders.customer_name"],
            "--drops with an empty item": [*GOOD, "--drops", "orders,"],
            "--drops with a space": [*GOOD, "--drops", "orders, legacy"],
            "--guard-wait without a unit": [*GOOD, "--drops", "orders", "--guard-wait", "10"],
            "--guard-wait not a duration": [*GOOD, "--drops", "orders", "--guard-wait", "soon"],
            "--guard-wait without --drops": [*GOOD, "--guard-wait", "5m"],
            "--drops without a guard container": [*GOOD, "--drops", "orders", "--migration-task-definition",
                                                  str(tmp / "migrate-solo.json")],
            "bad --guard-container": [*GOOD, "--guard-container", "guard;x"],
            "the guard's --wait in the task definition not a duration": [
                *GOOD, "--migration-task-definition", variant("wait-soon", ["--wait", "soon"])],
            "the guard's --wait in the task definition without its value": [
                *GOOD, "--migration-task-definition", variant("wait-none", ["--wait"])],
            "the guard's --wait in the task definition over 24h": [
                *GOOD, "--migration-task-definition", variant("wait-25h", ["--wait", "25h"])],
        }
        for what, argv in bad.items():
            r, calls = deploy(argv)
            f.check(r.returncode == 2 and len(r.stderr.splitlines()) == 1 and not r.stdout and not calls,
                    f"bad usage ({what}): expected exit 2 and one stderr line, got {r.returncode}, "
                    f"stderr {r.stderr!r}, stdout {r.stdout!r}, calls {calls}")
        r, _ = deploy(["--help"])
        f.check(r.returncode == 0 and "usage:" in r.stdout, "--help must print usage and exit 0")

    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        f.check(r.returncode == 0, f"shellcheck:\n{r.stdout}")
    else:
        print("note: shellcheck not installed, lint skipped")
    return f.finish("deploy.sh")


if __name__ == "__main__":
    sys.exit(main())
