#!/usr/bin/env python3
"""scripts/deploy.sh: the pipeline order (register, run the migration, wait for it to stop,
read its exit code, update the service, wait until stable), --dry-run without aws, bad usage,
and the real path against a fake `aws` that records its calls: a failed migration stops the
deploy before the service is touched, a circuit-breaker rollback fails it."""

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
    elif "describe-tasks" in args:
        if "stoppedReason" in opt("--query"):
            print("Essential container in task exited")
        else:
            print(os.environ.get("FAKE_MIGRATION_EXIT", "0"))
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
            for p in (log, Path(str(log) + ".rendered")):
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
        f.check("--overrides" in run_task
                and json.loads(run_task[run_task.index("--overrides") + 1])["containerOverrides"][0]["command"]
                == ["orders-service", "migrate", "--to", "4"], f"--migrate-to 4 not passed as a command override: {run_task}")
        f.check("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service-migrate:7" in run_task,
                "run-task must use the ARN register-task-definition returned")
        update = next((c for c in calls if "update-service" in c), [])
        f.check("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7" in update,
                f"update-service must use the registered app ARN: {update}")

        # The migration failed: the service is never updated.
        for code in ("1", "None"):
            r, calls = deploy(GOOD, FAKE_MIGRATION_EXIT=code)
            f.check(r.returncode == 1, f"migration exit {code}: deploy exit {r.returncode}, expected 1")
            f.check(("ecs", "update-service") not in steps(calls), f"migration exit {code}: the service was updated anyway")
            f.check("not updated" in r.stderr and len(r.stderr.splitlines()) == 1,
                    f"migration exit {code}: expected one line saying the service was not updated: {r.stderr!r}")

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
