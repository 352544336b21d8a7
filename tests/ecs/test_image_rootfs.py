#!/usr/bin/env python3
"""The container image's file set works on its own, without a Docker engine: the Dockerfile's
[rootfs] step (the readyprobe front and readyprobe-core plus exactly the shared libraries ldd lists,
loader included) is run against the built binaries into an empty directory, and readyprobe then runs inside it with
`chroot --userspec=65534:65534`: no shell, no /etc, not root. It answers --version, `check`
against a server outside the chroot on loopback, and `serve` + `check` + SIGTERM drain; with the
throwaway PostgreSQL and Redis of scripts/with-services.sh it also runs `wait` against them.

Needs root (chroot); exits 77 (ctest SKIP) otherwise."""

import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import ecslib

USER = "--userspec=65534:65534"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"  # the child gets an empty environment, no PATH


def rootfs_step(dockerfile):
    """The shell command of the RUN between '# [rootfs]' and '# [/rootfs]'."""
    text = Path(dockerfile).read_text()
    m = re.search(r"^# \[rootfs\].*?\n(.*?)^# \[/rootfs\]", text, re.S | re.M)
    if not m:
        raise SystemExit("FAIL: no '# [rootfs]' ... '# [/rootfs]' step in the Dockerfile")
    command = m.group(1).replace("\\\n", " ").strip()
    if not command.startswith("RUN "):
        raise SystemExit(f"FAIL: the [rootfs] step is not a RUN: {command[:60]}")
    return command[4:]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        code = 200 if self.path == "/" else 503
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = ecslib.parse_args(need_binary=True)
    if os.geteuid() != 0:
        print("SKIP: chroot needs root")
        return ecslib.SKIP
    if not args.binary.exists():
        print(f"FAIL: {args.binary} not built (cmake --build build)")
        return 1
    f = ecslib.Failures()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    web = f"http://127.0.0.1:{server.server_address[1]}"

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rootfs"
        step = rootfs_step(Path(args.repo) / "Dockerfile")
        # The build stage's paths -> this build (readyprobe-core is built next to readyprobe) and a
        # temporary root; drop the build-time self-check.
        step = step.replace("/build/sidecar/readyprobe", str(args.binary.resolve())).replace("/rootfs", str(root))
        step = re.sub(r"\s*&&\s*chroot .*$", "", step)
        r = subprocess.run(["/bin/sh", "-c", step], capture_output=True, text=True, timeout=60)
        if not f.check(r.returncode == 0, f"the Dockerfile's [rootfs] step failed: {r.stderr}"):
            return f.finish("image rootfs")
        for d in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
            d.chmod(0o755)  # TemporaryDirectory is 0700: let uid 65534 walk in

        files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())
        binaries = {"usr/local/bin/readyprobe", "usr/local/libexec/readyprobe/readyprobe-core"}
        f.check(binaries <= set(files), f"the file set lacks {sorted(binaries - set(files))}")
        extra = [x for x in files if x not in binaries and not re.match(r"lib(64|32|x32)?/", x)]
        f.check(not extra, f"the file set holds more than the two binaries and their libraries: {extra}")
        f.check(not (root / "bin" / "sh").exists(), "there is a shell in the file set")
        size = sum((root / x).stat().st_size for x in files)
        print(f"file set: {len(files)} files, {size / 1e6:.1f} MB (2 binaries stripped + {len(files) - 2} libraries)")

        def inside(*argv, env=None, timeout=10):
            return subprocess.run([CHROOT, USER, str(root), "/usr/local/bin/readyprobe", *argv],
                                  env=env or {}, capture_output=True, text=True, timeout=timeout)

        r = inside("--version")
        f.check(r.returncode == 0 and r.stdout.startswith("readyprobe "),
                f"--version in the chroot: exit {r.returncode}, {r.stdout!r} {r.stderr!r}")
        r = inside("check", f"{web}/")
        f.check(r.returncode == 0, f"check {web}/ (200) in the chroot: exit {r.returncode}, {r.stderr!r}")
        r = inside("check", f"{web}/down")
        f.check(r.returncode == 1, f"check {web}/down (503) in the chroot: exit {r.returncode}, expected 1")

        # serve in the chroot, the ECS health check against it, then SIGTERM: exit 0 after the drain.
        port = free_port()
        env = {"READYPROBE_LISTEN": f"127.0.0.1:{port}", "READYPROBE_CHECK_WEB": f"{web}/",
               "READYPROBE_INTERVAL": "200ms", "READYPROBE_DRAIN": "300ms", "READYPROBE_LOG_FORMAT": "json"}
        serve = subprocess.Popen([CHROOT, USER, str(root), "/usr/local/bin/readyprobe", "serve"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline, rc = time.monotonic() + 10, None
            while time.monotonic() < deadline and serve.poll() is None:
                rc = inside("check", env={"READYPROBE_LISTEN": env["READYPROBE_LISTEN"]}).returncode
                if rc == 0:
                    break
                time.sleep(0.1)
            f.check(rc == 0, "`readyprobe check` (the ECS health check) never passed against `serve` in the chroot")
            serve.send_signal(signal.SIGTERM)
            rc = serve.wait(timeout=10)
            f.check(rc == 0, f"serve in the chroot: exit {rc} after SIGTERM, expected 0 after the drain")
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait()
        output = serve.stdout.read()
        f.check(all(line.startswith("{") for line in output.splitlines() if line.strip()),
                f"serve logged non-JSON lines with READYPROBE_LOG_FORMAT=json:\n{output}")

        # The database and cache client libraries too, when the throwaway servers are up.
        pg, redis = os.environ.get("RPTEST_PG_URL"), os.environ.get("RPTEST_REDIS_URL")
        if pg and redis:
            r = inside("wait", "--timeout", "20s", timeout=30,
                       env={"READYPROBE_CHECK_DB": pg, "READYPROBE_CHECK_DB_POOL": "2", "READYPROBE_CHECK_CACHE": redis})
            f.check(r.returncode == 0, f"wait for PostgreSQL and Redis in the chroot: exit {r.returncode}\n{r.stdout}{r.stderr}")
            print("PostgreSQL and Redis checks ran in the chroot")
        else:
            print("note: RPTEST_PG_URL/RPTEST_REDIS_URL unset (not under scripts/with-services.sh): "
                  "PostgreSQL and Redis not tried in the chroot")
    server.shutdown()
    return f.finish("image rootfs")


if __name__ == "__main__":
    sys.exit(main())
