#!/usr/bin/env python3
"""What the real image build (tests/image/run.sh: podman builds Dockerfile, then runs the image
as non-root, without a shell, against real servers) cannot see, because a build would succeed
anyway: the build stage's base is the BASE_IMAGE build arg with a fully qualified default (so a
digest can pin it and the suite can pass local/debian:12), a Release build without tests, stripped
binaries, and a .dockerignore that keeps .git and build trees out of the context while keeping in
every directory the top-level CMakeLists.txt builds."""

import fnmatch
import re
import shlex
import sys
from pathlib import Path

import ecslib


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

    base_args = dict(rest.split("=", 1) for word, rest in steps[:froms[0]] if word == "ARG" and "=" in rest)
    f.check(re.fullmatch(r"\$\{?BASE_IMAGE\}?\s+AS\s+build", build[0][1], re.I) is not None,
            f"the build stage must be FROM ${{BASE_IMAGE}} AS build (a build arg), not {build[0][1]!r}")
    default = base_args.get("BASE_IMAGE", "")
    f.check(re.fullmatch(r"[a-z0-9.-]+\.[a-z]+/library/debian:12(@sha256:[0-9a-f]{64})?", default) is not None,
            f"ARG BASE_IMAGE must default to a fully qualified Debian 12 image (registry/library/debian:12), not {default!r}")
    runs = " ".join(rest for word, rest in build if word == "RUN")
    f.check("-DCMAKE_BUILD_TYPE=Release" in runs and "-DREADYPROBE_BUILD_TESTS=OFF" in runs,
            "the build stage must configure -DCMAKE_BUILD_TYPE=Release -DREADYPROBE_BUILD_TESTS=OFF")
    f.check(re.search(r"install\b[^&]*\s-s\s", runs) is not None, "the binaries must be installed stripped (install -s)")
    f.check(final[0][1] == "scratch", f"the final stage must be FROM scratch (nothing to pin, no shell), not {final[0][1]!r}")

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
