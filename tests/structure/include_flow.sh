#!/usr/bin/env bash
# The include rule of probe-lib/README.md, checked: every #include inside probe-lib/ points at a
# file of the same or an earlier stage of the flow
#   foundation (0) -> configuration (1) -> checks (2) -> Prober (3) -> snapshot (4) -> render (5)
#   -> HTTP (6) -> serving lifecycle and guard (7, the library's own users of all the above)
# and never downstream. A file this script cannot place fails the test, so a new file is given
# its stage here when it is added. Prints every arrow against the flow; exit 1 if there is one.
#   tests/structure/include_flow.sh [REPO]        (--list prints every arrow with its stages)
set -euo pipefail
list=0
[[ ${1:-} == --list ]] && { list=1; shift; }
cd "${1:-$(dirname "$0")/../..}/probe-lib"

stage() {
  case $1 in
    include/readyprobe/readyprobe.hpp) echo umbrella ;;
    include/readyprobe/spec.hpp | include/readyprobe/clock.hpp | include/readyprobe/duration.hpp | \
      include/readyprobe/url.hpp | include/readyprobe/secret.hpp | include/readyprobe/log.hpp | \
      include/readyprobe/version.hpp | src/url.cpp | src/url_text.hpp | src/duration.cpp | \
      src/secret.cpp | src/log.cpp | src/version.cpp | src/text.hpp | src/parse.hpp | src/kind.hpp) echo 0 ;;
    include/readyprobe/config.hpp | src/config.cpp | src/config_sources.cpp | src/config_raw.hpp) echo 1 ;;
    include/readyprobe/check.hpp | include/readyprobe/checks.hpp | include/readyprobe/lease.hpp | src/checks/*) echo 2 ;;
    include/readyprobe/prober.hpp | include/readyprobe/state.hpp | src/prober.cpp | src/state.cpp) echo 3 ;;
    include/readyprobe/snapshot.hpp | src/snapshot.cpp) echo 4 ;;
    include/readyprobe/render.hpp | src/render.cpp) echo 5 ;;
    include/readyprobe/http.hpp | src/http.cpp) echo 6 ;;
    include/readyprobe/serve.hpp | src/serve.cpp | include/readyprobe/guard.hpp | src/guard.cpp | src/guard_text.hpp | src/guard_text.cpp) echo 7 ;;
    *) echo unknown ;;
  esac
}

# The file an include names: <readyprobe/x> is include/readyprobe/x, "x" is next to the includer
# (or under src/); anything else is outside probe-lib (system and dependency headers).
target() {
  local dir
  dir=$(dirname "$1")
  case $2 in
    readyprobe/*) echo "include/$2" ;;
    *) if [[ -f $dir/$2 ]]; then realpath -m --relative-to=. "$dir/$2"; elif [[ -f src/$2 ]]; then echo "src/$2"; fi ;;
  esac
}

arrows=0 against=0 unknown=0
while IFS= read -r file; do
  from=$(stage "$file")
  [[ $from == umbrella ]] && continue
  if [[ $from == unknown ]]; then
    echo "no stage for $file: give it one in $0"
    unknown=$((unknown + 1))
    continue
  fi
  while IFS= read -r inc; do
    to_file=$(target "$file" "$inc")
    [[ -z $to_file ]] && continue
    to=$(stage "$to_file")
    arrows=$((arrows + 1))
    if [[ $to == unknown || $to == umbrella ]]; then
      echo "no stage for $to_file (included by $file)"
      unknown=$((unknown + 1))
    elif ((to > from)); then
      echo "against the flow: $file (stage $from) includes $to_file (stage $to)"
      against=$((against + 1))
    elif ((list)); then
      echo "$file ($from) -> $to_file ($to)"
    fi
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p' "$file")
done < <(find include src -name '*.hpp' -o -name '*.cpp' | sort)

echo "probe-lib: $arrows include arrows, $against against the flow, $unknown without a stage"
((against == 0 && unknown == 0))
