#!/usr/bin/env bash
# Deploy a new image of the service to ECS, migrating the database first:
#   1. register the migration and app task definitions (image tag filled in),
#   2. run the migration as a one-off task (its `guard` container runs `readyprobe guard --drops
#      LIST` first; its `migrate` container starts only if that exits 0), wait for it to stop
#      (giving up stops the task: it must not migrate later with nobody watching), read both
#      exit codes,
#   3. only if both exited 0: update the service and wait until it is stable on the new revision
#      (a rollback by the deployment circuit breaker fails the deploy).
# See task-definitions/README.md. --dry-run prints the aws commands without running them.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/deploy.sh [options]
  --cluster NAME            ECS cluster                       (env ECS_CLUSTER)
  --service NAME            ECS service to update             (env ECS_SERVICE)
  --subnets ID,ID           subnets of the migration task     (env ECS_SUBNETS)
  --security-groups ID,ID   its security groups               (env ECS_SECURITY_GROUPS)
  --image-tag TAG           app image tag for ${IMAGE_TAG}    (env IMAGE_TAG)
  --migrate-to N            override the migration target version (env MIGRATE_TO;
                            default: the command in the migration task definition)
  --task-definition FILE    app task definition  (default task-definitions/app-with-sidecar.json)
  --migration-task-definition FILE  (default task-definitions/migrate.json)
  --migration-container NAME        its container (default migrate)
  --drops LIST              what this release's migration removes (table.column,table,...;
                            '' = nothing), passed to `readyprobe guard --drops` in the migration
                            task's guard container (env GUARD_DROPS; default: the command in the
                            migration task definition)
  --guard-wait D            how long the guard waits for live tasks needing it to go, e.g. 10m,
                            30s (env GUARD_WAIT; default 10m; only with --drops; without
                            --drops, the --wait of the guard's command in the task definition)
  --guard-container NAME    the migration task's guard container (default guard)
  --assign-public-ip ENABLED|DISABLED  for the migration task (default DISABLED)
  --region REGION           passed to every aws command (default: the CLI's configuration)
  --dry-run                 print every aws command ("+ " prefix) without running any
  -h, --help                this help
Exit: 0 deployed, 1 a step failed (nothing after it ran), 2 bad usage.
EOF
}

die_usage() {
  echo "deploy: $1 (see scripts/deploy.sh --help)" >&2
  exit 2
}

die() {
  echo "deploy: $1" >&2
  exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${ECS_CLUSTER:-}
service=${ECS_SERVICE:-}
subnets=${ECS_SUBNETS:-}
security_groups=${ECS_SECURITY_GROUPS:-}
image_tag=${IMAGE_TAG:-}
migrate_to=${MIGRATE_TO:-}
app_file=$root/task-definitions/app-with-sidecar.json
migrate_file=$root/task-definitions/migrate.json
migrate_container=migrate
# --drops: set (possibly to '') or not at all; "not at all" leaves the guard's command as it is.
drops_set=${GUARD_DROPS+1}
drops=${GUARD_DROPS:-}
guard_wait_set=${GUARD_WAIT+1}
guard_wait=${GUARD_WAIT:-10m}
guard_container=guard
public_ip=DISABLED
region=
dry_run=0

while (($#)); do
  opt=$1
  case $opt in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run)
      dry_run=1
      shift
      continue
      ;;
    --cluster | --service | --subnets | --security-groups | --image-tag | --migrate-to | --task-definition | \
      --migration-task-definition | --migration-container | --assign-public-ip | --region | --drops | \
      --guard-wait | --guard-container)
      (($# >= 2)) || die_usage "$opt needs a value"
      value=$2
      shift 2
      ;;
    --*=*)
      die_usage "write ${opt%%=*} VALUE, not ${opt%%=*}=VALUE"
      ;;
    *)
      die_usage "unknown argument: $opt"
      ;;
  esac
  case $opt in
    --cluster) cluster=$value ;;
    --service) service=$value ;;
    --subnets) subnets=$value ;;
    --security-groups) security_groups=$value ;;
    --image-tag) image_tag=$value ;;
    --migrate-to) migrate_to=$value ;;
    --task-definition) app_file=$value ;;
    --migration-task-definition) migrate_file=$value ;;
    --migration-container) migrate_container=$value ;;
    --drops) drops=$value drops_set=1 ;;
    --guard-wait) guard_wait=$value guard_wait_set=1 ;;
    --guard-container) guard_container=$value ;;
    --assign-public-ip) public_ip=$value ;;
    --region) region=$value ;;
  esac
done

[[ -n $cluster ]] || die_usage "missing --cluster (or ECS_CLUSTER)"
[[ -n $service ]] || die_usage "missing --service (or ECS_SERVICE)"
[[ -n $subnets ]] || die_usage "missing --subnets (or ECS_SUBNETS)"
[[ -n $security_groups ]] || die_usage "missing --security-groups (or ECS_SECURITY_GROUPS)"
[[ -n $image_tag ]] || die_usage "missing --image-tag (or IMAGE_TAG)"
# Docker's tag grammar; also keeps the tag safe inside sed and JSON below.
[[ $image_tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die_usage "--image-tag: not a valid image tag: $image_tag"
[[ -z $migrate_to || $migrate_to =~ ^[0-9]+$ ]] || die_usage "--migrate-to: not a version number: $migrate_to"
[[ $subnets =~ ^[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$ ]] || die_usage "--subnets: expected ID,ID,...: $subnets"
[[ $security_groups =~ ^[A-Za-z0-9-]+(,[A-Za-z0-9-]+)*$ ]] || die_usage "--security-groups: expected ID,ID,...: $security_groups"
[[ $public_ip == ENABLED || $public_ip == DISABLED ]] || die_usage "--assign-public-ip: ENABLED or DISABLED, not $public_ip"
[[ $migrate_container =~ ^[A-Za-z0-9_-]+$ ]] || die_usage "--migration-container: not a container name: $migrate_container"
[[ $guard_container =~ ^[A-Za-z0-9_-]+$ ]] || die_usage "--guard-container: not a container name: $guard_container"
# What readyprobe guard accepts (table or table.column, comma-separated; empty: nothing), and
# safe inside JSON.
drop_item='[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?'
[[ $drops =~ ^($drop_item(,$drop_item)*)?$ ]] ||
  die_usage "--drops: expected table.column,table,... (letters, digits, _) or '': $drops"
[[ $guard_wait =~ ^[1-9][0-9]{0,4}[smh]$ ]] || die_usage "--guard-wait: expected a duration such as 10m or 30s: $guard_wait"
case ${guard_wait: -1} in
  s) guard_wait_seconds=${guard_wait%s} ;;
  m) guard_wait_seconds=$((${guard_wait%m} * 60)) ;;
  h) guard_wait_seconds=$((${guard_wait%h} * 3600)) ;;
esac
((guard_wait_seconds <= 86400)) || die_usage "--guard-wait: at most 24h: $guard_wait"
[[ -n $drops_set || -z $guard_wait_set ]] ||
  die_usage "--guard-wait (or GUARD_WAIT) needs --drops LIST (or GUARD_DROPS): the guard's command is replaced as a whole"
[[ -f $app_file ]] || die_usage "--task-definition: no such file: $app_file"
[[ -f $migrate_file ]] || die_usage "--migration-task-definition: no such file: $migrate_file"
# The migration task definition has a guard container (migrate.json does; an older one may not).
has_guard=0
grep -Eq "\"name\": *\"$guard_container\"" "$migrate_file" && has_guard=1
[[ -z $drops_set ]] || ((has_guard)) ||
  die_usage "--drops: $migrate_file has no container named $guard_container (see --guard-container)"
# How long the guard may wait before the migration starts (sizes the waiter's rounds below): with
# --drops, --guard-wait (the command is replaced); else the --wait of the guard's own command in
# the task definition (none: the guard checks once and does not wait).
if ((has_guard)) && [[ -z $drops_set ]]; then
  command -v python3 >/dev/null 2>&1 ||
    die "python3 is needed to read the guard's --wait from $migrate_file (or pass --drops and --guard-wait)"
  # One line on stdout: the seconds, or (exit 1) why the file cannot say.
  guard_wait_seconds=$(python3 - "$migrate_file" "$guard_container" 2>&1 <<'EOF'
import json, math, re, sys
path, name = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        td = json.load(f)
    containers = td["containerDefinitions"]
    command = next(c for c in containers if c.get("name") == name).get("command") or []
except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration) as e:
    print(f"{path}: cannot read the {name} container's command ({type(e).__name__})")
    sys.exit(1)
if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
    print(f"{path}: the {name} container's command is not a list of strings")
    sys.exit(1)
wait = None
for i, arg in enumerate(command):
    if arg == "--wait":
        wait = command[i + 1] if i + 1 < len(command) else ""
    elif arg.startswith("--wait="):
        wait = arg[len("--wait="):]
if wait is None:
    print(0)
    sys.exit(0)
# readyprobe's duration grammar: a number and ms, s, m or h; at most 24h.
m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)", wait)
seconds = float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]] if m else -1
if not 0 < seconds <= 86400:
    print(f"{path}: the {name} container's --wait is not a duration of at most 24h such as 10m: {wait[:40]!r}")
    sys.exit(1)
print(math.ceil(seconds))
EOF
  ) || die_usage "--migration-task-definition $guard_wait_seconds"
fi
if ((!dry_run)) && ! command -v aws >/dev/null 2>&1; then
  die "the aws CLI is not installed (or use --dry-run)"
fi

aws_args=()
[[ -z $region ]] || aws_args=(--region "$region")

# show CMD...: print the command as "+ cmd args", quoting what a shell would need quoted.
show() {
  local out="+" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
      out+=" $arg"
    elif [[ $arg != *\'* ]]; then
      out+=" '$arg'"
    elif [[ $arg != *[\"\$\`\\]* ]]; then
      out+=" \"$arg\""
    else
      out+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s\n' "$out"
}

# run CMD...: print it, then run it (not in a dry run).
run() {
  show "$@"
  ((dry_run)) || "$@"
}

# capture VAR PLACEHOLDER CMD...: print CMD, run it and store its output in VAR; in a dry run,
# store PLACEHOLDER instead so later commands show where the value goes.
capture() {
  local var=$1 placeholder=$2 output
  shift 2
  show "$@"
  if ((dry_run)); then
    printf -v "$var" '%s' "$placeholder"
    return 0
  fi
  output=$("$@") || return
  printf -v "$var" '%s' "$output"
}

# Values the aws commands return (placeholders in a dry run).
migrate_td='' app_td='' task='' exit_codes='' primary=''

# The task definitions are templates: fill the image tag into a private copy.
work=$(mktemp -d "${TMPDIR:-/tmp}/readyprobe-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT
render() {
  local src=$1 dst
  dst=$work/$(basename "$src")
  # shellcheck disable=SC2016 # a literal ${IMAGE_TAG}
  grep -q '"image": *"[^"]*:\${IMAGE_TAG}"' "$src" || die "$src: no image has the \${IMAGE_TAG} placeholder to fill in"
  sed "s/\${IMAGE_TAG}/$image_tag/g" "$src" >"$dst"
  printf '%s\n' "$dst"
}
family_of() {
  sed -n 's/^ *"family": *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}
migrate_json=$(render "$migrate_file")
app_json=$(render "$app_file")

# 1. Register both revisions; the exact ARNs returned are used below (not "latest").
capture migrate_td "<$(family_of "$migrate_file") task definition ARN>" \
  aws "${aws_args[@]}" ecs register-task-definition --cli-input-json "file://$migrate_json" \
  --query taskDefinition.taskDefinitionArn --output text || die "registering $migrate_file failed"
capture app_td "<$(family_of "$app_file") task definition ARN>" \
  aws "${aws_args[@]}" ecs register-task-definition --cli-input-json "file://$app_json" \
  --query taskDefinition.taskDefinitionArn --output text || die "registering $app_file failed"

# 2. The migration, as a one-off task. Two layers of the same check, both exit 1 and stop this
#    deploy while a serving task's lease requires what the migration removes (a contract before
#    the old tasks are gone):
#    - the guard container (readyprobe image) runs `readyprobe guard --drops LIST --wait D`
#      first; the migrate container has `dependsOn: guard SUCCESS`, so ECS starts it only when
#      the guard exited 0;
#    - `orders-service migrate` runs each migration through readyprobe's guard (the library's
#      guard_migration, the same code as `readyprobe guard --sql FILE --apply`), which also
#      waits out long transactions holding a table the migration alters.
run_args=(--cluster "$cluster" --task-definition "$migrate_td" --launch-type FARGATE --count 1
  --started-by readyprobe-deploy --propagate-tags TASK_DEFINITION
  --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$security_groups],assignPublicIp=$public_ip}")
container_overrides=''
if [[ -n $drops_set ]]; then
  container_overrides+="{\"name\":\"$guard_container\",\"command\":[\"guard\",\"--drops\",\"$drops\",\"--wait\",\"$guard_wait\"]}"
fi
if [[ -n $migrate_to ]]; then
  container_overrides+="${container_overrides:+,}{\"name\":\"$migrate_container\",\"command\":[\"orders-service\",\"migrate\",\"--to\",\"$migrate_to\"]}"
fi
if [[ -n $container_overrides ]]; then
  run_args+=(--overrides "{\"containerOverrides\":[$container_overrides]}")
fi
capture task "<migration task ARN>" \
  aws "${aws_args[@]}" ecs run-task "${run_args[@]}" --query 'tasks[0].taskArn' --output text ||
  die "run-task failed: the service was not updated"
[[ -n $task && $task != None ]] || die "run-task started no task (see its failures): the service was not updated"

# The waiter gives up after 10 minutes; the guard may wait up to its --wait before the migration
# starts, so wait once more for every 10 minutes of that.
rounds=1
((has_guard)) && rounds=$((1 + (guard_wait_seconds + 599) / 600))
for ((round = 1; ; round++)); do
  run aws "${aws_args[@]}" ecs wait tasks-stopped --cluster "$cluster" --tasks "$task" && break
  ((round < rounds)) && continue
  # Giving up: stop the task, or the migration may still run later with nobody watching (an ECS
  # agent that leaves a task PENDING when the guard fails, aws/amazon-ecs-agent#2579, would
  # otherwise keep it forever; a slow migration would go on after this deploy reported failure).
  waited="the migration task $task did not stop within the waiter's $((rounds * 10)) minutes"
  if run aws "${aws_args[@]}" ecs stop-task --cluster "$cluster" --task "$task" \
    --reason "readyprobe deploy gave up waiting" --query task.desiredStatus --output text; then
    die "$waited: ECS is stopping it (aws ecs stop-task), so it cannot migrate later with nobody watching; the service was not updated"
  fi
  die "$waited, and stopping it failed: stop it yourself (aws ecs stop-task --cluster $cluster --task $task) before it migrates with nobody watching; the service was not updated"
done

# Both exit codes in one call: "GUARD<TAB>MIGRATE", None for a container that has none (never
# started, or no such container).
capture exit_codes $'0\t0' \
  aws "${aws_args[@]}" ecs describe-tasks --cluster "$cluster" --tasks "$task" \
  --query "tasks[0].[containers[?name=='$guard_container'].exitCode | [0], containers[?name=='$migrate_container'].exitCode | [0]]" \
  --output text || die "describe-tasks failed: the service was not updated"
IFS=$'\t' read -r guard_code exit_code <<<"$exit_codes"
stopped_reason() {
  aws "${aws_args[@]}" ecs describe-tasks --cluster "$cluster" --tasks "$task" \
    --query 'tasks[0].stoppedReason' --output text 2>/dev/null || true
}
if ((has_guard)); then
  case $guard_code in
    0 | None | '') ;; # None: the task stopped before the guard ran; the migrate code says why
    1) die "the guard refused the migration (a live task still requires what it drops: see the $guard_container container's log): the service was not updated" ;;
    2) die "the guard could not run (bad usage or database unreachable: see the $guard_container container's log): the service was not updated" ;;
    *) die "the guard exited $guard_code ($(stopped_reason)): the service was not updated" ;;
  esac
fi
if [[ $exit_code != 0 ]]; then
  reason=$(stopped_reason)
  hint=''
  if [[ $exit_code == 1 ]]; then
    hint='; it failed or the guard refused it (a live task needs what it removes, or a transaction holds its table): see the log of the migrate task'
  fi
  die "the migration exited ${exit_code/None/without an exit code} (${reason:-no reason given})$hint: the service was not updated"
fi

# 3. Roll out, then make sure the rollout that became stable is ours: with the circuit breaker's
#    rollback, services-stable also succeeds once the service is back on the old revision.
run aws "${aws_args[@]}" ecs update-service --cluster "$cluster" --service "$service" \
  --task-definition "$app_td" --query service.serviceArn --output text ||
  die "update-service failed"
run aws "${aws_args[@]}" ecs wait services-stable --cluster "$cluster" --services "$service" ||
  die "the service did not become stable (see aws ecs describe-services --cluster $cluster --services $service)"
# shellcheck disable=SC2016 # JMESPath literals, not shell expansions
capture primary "$app_td	COMPLETED" \
  aws "${aws_args[@]}" ecs describe-services --cluster "$cluster" --services "$service" \
  --query 'services[0].deployments[?status==`PRIMARY`] | [0].[taskDefinition, rolloutState]' --output text ||
  die "describe-services failed"
IFS=$'\t' read -r primary_td rollout <<<"$primary"
[[ $primary_td == "$app_td" ]] || die "the deployment was rolled back: the service runs $primary_td, not $app_td"
[[ $rollout == COMPLETED || $rollout == None ]] || die "the deployment's rollout state is $rollout"
if ((dry_run)); then
  echo "deploy: dry run: nothing was run"
else
  echo "deploy: $service runs $app_td"
fi
