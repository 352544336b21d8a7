#!/usr/bin/env python3
"""The Dockerfile, read without a Docker engine: a Debian 12 build stage with the -dev packages
scripts/install-deps.sh installs (so the two never drift), a Release build without tests, and a
final stage with no shell, a non-root user, readyprobe as ENTRYPOINT and `readyprobe check` as
HEALTHCHECK. .dockerignore must keep out the build tree and .git, and keep in every directory
the top-level CMakeLists.txt builds."""

import fnmatch
import json
import re
import shlex
import sys
from pathlib import Path

import ecslib

BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "pkg-config"}


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def install_deps_packages(path):
    text = Path(path).read_text()
    m = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    return set(m.group(1).split()) if m else set()


def main():
    args = ecslib.parse_args()
    repo = Path(args.repo)
    f = ecslib.Failures()
    steps = instructions((repo / "Dockerfile").read_text())
    froms = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    if not f.check(len(froms) >= 2, "Dockerfile must be multi-stage (build, then a minimal final stage)"):
        return f.finish("Dockerfile")
    build = steps[froms[0]:froms[-1]]
    final = steps[froms[-1]:]

    f.check(re.fullmatch(r"debian:12(\.\d+)?\s+AS\s+build", build[0][1], re.I) is not None,
            f"the build stage must be FROM debian:12 AS build, not {build[0][1]!r}")
    runs = " ".join(rest for word, rest in build if word == "RUN")
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runs.split("apt-get install", 1)[-1].split("&&", 1)[0]))
    # The fuzzing runtime (clang's libclang-rt) is for the test suite only, not the image.
    wanted = {p for p in install_deps_packages(repo / "scripts" / "install-deps.sh")
              if p.endswith("-dev") and not p.startswith("libclang-rt-")} | BUILD_TOOLS
    f.check(len(wanted) > len(BUILD_TOOLS), "no -dev packages found in scripts/install-deps.sh")
    f.check(wanted <= installed, f"the build stage misses packages scripts/install-deps.sh installs: {sorted(wanted - installed)}")
    f.check("-DCMAKE_BUILD_TYPE=Release" in runs and "-DREADYPROBE_BUILD_TESTS=OFF" in runs,
            "the build stage must configure -DCMAKE_BUILD_TYPE=Release -DREADYPROBE_BUILD_TESTS=OFF")
    f.check(re.search(r"install\b[^&]*\s-s\s", runs) is not None, "the binary must be installed stripped (install -s)")

    base = final[0][1]
    f.check(base.startswith("gcr.io/distroless/") and base.endswith(":nonroot"),
            f"the final stage must be a distroless :nonroot image (no shell), not {base!r}")
    f.check(not any(word == "RUN" for word, _ in final), "the final stage cannot RUN anything: it has no shell")
    f.check(("COPY", "--from=build /rootfs/ /") in final, "the final stage must COPY --from=build /rootfs/ /")
    users = [rest for word, rest in final if word == "USER"]
    f.check(users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]) is not None,
            f"the final stage must run as a numeric non-root USER, not {users}")
    entry = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    f.check(entry == [["/usr/local/bin/readyprobe"]], f"ENTRYPOINT must be [\"/usr/local/bin/readyprobe\"], not {entry}")
    health = [rest for word, rest in final if word == "HEALTHCHECK"]
    cmd = json.loads(health[-1].split(" CMD ", 1)[1]) if health and " CMD " in health[-1] else None
    f.check(cmd is not None and cmd[:2] == ["/usr/local/bin/readyprobe", "check"],
            f"HEALTHCHECK must be CMD [\"/usr/local/bin/readyprobe\", \"check\"] (exec form: no shell), not {health}")
    f.check(("EXPOSE", "8081") in final, "the final stage must EXPOSE 8081 (READYPROBE_LISTEN's default)")

    ignored = [line.strip() for line in (repo / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]

    def is_ignored(name):
        return any(fnmatch.fnmatch(name, pattern.rstrip("/")) for pattern in ignored)

    f.check(is_ignored(".git") and is_ignored("build") and is_ignored("build-release"),
            ".dockerignore must keep .git and build trees out of the context")
    # Directories the image build compiles: top-level add_subdirectory() outside the tests switch.
    cmake = (repo / "CMakeLists.txt").read_text()
    cmake = re.sub(r"if\s*\(\s*READYPROBE_BUILD_TESTS\s*\).*?endif\s*\(\s*\)", "", cmake, flags=re.S)
    needed = ["CMakeLists.txt", *re.findall(r"add_subdirectory\(\s*([^\s)]+)", cmake)]
    for name in needed:
        top = shlex.split(name)[0].split("/")[0]
        f.check(not is_ignored(top), f".dockerignore excludes {top}, which the image build needs")
    return f.finish("Dockerfile")


if __name__ == "__main__":
    sys.exit(main())
