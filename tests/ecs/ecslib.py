"""Shared helpers for the tests/ecs checks (no network, no AWS credentials needed).

Each test script is run by ctest as `python3 <script> --repo <source dir> [--binary <readyprobe>]`
and exits 0 (pass), 1 (fail) or 77 (skip).
"""

import argparse
import json
import re
import subprocess
from pathlib import Path

SKIP = 77

# Which AWS operation each file in task-definitions/ is the input of. A new JSON file must be
# added here, so nothing in that folder escapes validation.
OPERATIONS = {
    "app-with-sidecar.json": ("ecs", "RegisterTaskDefinition"),
    "app-with-wait-init.json": ("ecs", "RegisterTaskDefinition"),
    "app-embedded.json": ("ecs", "RegisterTaskDefinition"),
    "migrate.json": ("ecs", "RegisterTaskDefinition"),
    "service.json": ("ecs", "CreateService"),
    "target-group.json": ("elbv2", "CreateTargetGroup"),
    "target-group-attributes.json": ("elbv2", "ModifyTargetGroupAttributes"),
}
TASK_DEFINITIONS = [name for name, op in OPERATIONS.items() if op[1] == "RegisterTaskDefinition"]

# The image-tag placeholder scripts/deploy.sh replaces in every "image".
IMAGE_TAG_PLACEHOLDER = "${IMAGE_TAG}"

# Fargate facts the JSON must respect (ECS API reference, ContainerDefinition).
FARGATE_MAX_STOP_TIMEOUT = 120
FARGATE_DEFAULT_STOP_TIMEOUT = 30
FARGATE_MAX_START_TIMEOUT = 120

# The readyprobe defaults from CONTRACT.md, used where a container sets nothing.
DEFAULT_DRAIN = "5s"
DEFAULT_CHECK_CLIENT_TIMEOUT = "2s"  # `readyprobe check --timeout`


class Failures:
    """Collects failed assertions so one run reports all of them, then exits 1 if any."""

    def __init__(self):
        self.items = []
        self.passed = 0

    def check(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.items.append(message)
        return ok

    def finish(self, what):
        for item in self.items:
            print(f"FAIL: {item}")
        print(f"{what}: {self.passed} passed, {len(self.items)} failed")
        return 1 if self.items else 0


def parse_args(need_binary=False):
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True, type=Path, help="source directory of the project")
    parser.add_argument("--binary", required=need_binary, type=Path, help="the built readyprobe binary")
    return parser.parse_args()


def load(repo, name):
    with open(Path(repo) / "task-definitions" / name, encoding="utf-8") as f:
        return json.load(f)


def parse_duration(text):
    """'500ms', '2s', '1m', '1m30s', '1h' -> seconds (float). Raises ValueError."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration {text!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def environment(container):
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def secret_names(container):
    return [s["name"] for s in container.get("secrets", [])]


def is_readyprobe_image(container):
    repo = container["image"].rsplit(":", 1)[0]
    return repo == "readyprobe" or repo.endswith("/readyprobe")


def uses_readyprobe(container):
    """A readyprobe container, or an app whose embedded library reads READYPROBE_* variables."""
    return is_readyprobe_image(container) or any(n.startswith("READYPROBE_") for n in environment(container))


def container_by_name(task_definition, name):
    for c in task_definition["containerDefinitions"]:
        if c["name"] == name:
            return c
    return None


# A value no real configuration contains, so finding it in output proves a leak (and it shares
# no short substring with ordinary words, which a masking bug could otherwise hide).
DUMMY_SECRET = "dummy-Secret-Q7v2Zk9"


def readyprobe_config(binary, container):
    """Runs `readyprobe config` with exactly the container's environment plus a dummy value for
    each `secrets` name, as ECS would inject them. Returns the CompletedProcess."""
    env = environment(container)
    for name in secret_names(container):
        env[name] = DUMMY_SECRET
    return subprocess.run([str(binary), "config"], env=env, capture_output=True, text=True, timeout=20)


def listen_port(config_json):
    return int(config_json["listen"].rsplit(":", 1)[1])
