#!/usr/bin/env python3
"""Every task-definitions/*.json is a valid input of its AWS operation, by botocore's own
client-side validator (the check the AWS CLI runs before sending anything): unknown keys,
wrong types and missing required members fail. No network, no credentials.

A negative self-test first proves the validator reports an unknown key and a wrong type, so a
green result here means something."""

import copy
import sys
from pathlib import Path

import ecslib

try:
    import botocore.session
    import botocore.validate
except ImportError:
    print("FAIL: python module botocore is missing (scripts/install-deps.sh installs python3-botocore)")
    sys.exit(1)

SESSION = botocore.session.get_session()


def validate(service, operation, params):
    shape = SESSION.get_service_model(service).operation_model(operation).input_shape
    report = botocore.validate.ParamValidator().validate(params, shape)
    return report.generate_report() if report.has_errors() else ""


def main():
    args = ecslib.parse_args()
    failures = ecslib.Failures()
    print(f"botocore {botocore.__version__}")

    # Negative self-tests: the validator must catch what a typo in these files would look like.
    sidecar = ecslib.load(args.repo, "app-with-sidecar.json")
    bad = copy.deepcopy(sidecar)
    bad["containerDefinitions"][0]["healthcheck"] = bad["containerDefinitions"][0]["healthCheck"]  # wrong case
    bad["cpu"] = 512  # the API wants the string "512"
    report = validate("ecs", "RegisterTaskDefinition", bad)
    failures.check("Unknown parameter in containerDefinitions[0]: \"healthcheck\"" in report,
                   f"self-test: unknown key not reported:\n{report}")
    failures.check("Invalid type for parameter cpu" in report, f"self-test: wrong type not reported:\n{report}")

    tg = ecslib.load(args.repo, "target-group.json")
    bad = dict(tg, HealthCheckPort=8081)  # a number: the API wants the string "8081"
    report = validate("elbv2", "CreateTargetGroup", bad)
    failures.check("Invalid type for parameter HealthCheckPort" in report,
                   f"self-test: integer HealthCheckPort not reported:\n{report}")

    bad = {k: v for k, v in ecslib.load(args.repo, "service.json").items() if k != "serviceName"}
    report = validate("ecs", "CreateService", bad)
    failures.check("Missing required parameter in input: \"serviceName\"" in report,
                   f"self-test: missing required member not reported:\n{report}")

    # Every JSON file in the folder is known, and valid for its operation.
    folder = Path(args.repo) / "task-definitions"
    on_disk = sorted(p.name for p in folder.glob("*.json"))
    for name in on_disk:
        failures.check(name in ecslib.OPERATIONS, f"{name}: no AWS operation known for it (add it to ecslib.OPERATIONS)")
    for name, (service, operation) in sorted(ecslib.OPERATIONS.items()):
        if not failures.check(name in on_disk, f"{name}: missing from task-definitions/"):
            continue
        report = validate(service, operation, ecslib.load(args.repo, name))
        if failures.check(not report, f"{name} is not a valid {service} {operation} input:\n{report}"):
            print(f"ok: {name} is a valid {service} {operation} input")
    return failures.finish("botocore validation")


if __name__ == "__main__":
    sys.exit(main())
