# syntax=docker/dockerfile:1
# readyprobe container image: docker build -t readyprobe:0.1.0 .
#
# Stage 1 builds on Debian 12 with the same -dev packages as scripts/install-deps.sh.
# Stage 2 is distroless "static" (no libc, no shell, no package manager; it brings only
# /etc/passwd with the nonroot user, CA certificates and time zones) plus the two binaries and
# exactly the shared libraries `ldd` says they need, loader included, all from the build stage:
# one consistent Debian 12 set. tests/ecs/test_image_rootfs.py runs the marked rootfs step below
# to build the same file set and runs readyprobe in it, in an empty chroot, as a non-root user.
# Size and reasoning: task-definitions/README.md ("The image").

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libcpp-httplib-dev libpqxx-dev libpq-dev libhiredis-dev libssl-dev libspdlog-dev \
      nlohmann-json3-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DREADYPROBE_BUILD_TESTS=OFF \
 && cmake --build /build -j2 --target readyprobe readyprobe-core \
 && /build/sidecar/readyprobe --version
# Two binaries: readyprobe (the small front: answers `check` itself, needs only libc) and
# readyprobe-core (the sidecar, which the front execs for everything else) where the front looks.
# [rootfs] the binaries (stripped) and their shared-library closure, at the paths the loader uses.
RUN install -D -m 0755 -s /build/sidecar/readyprobe /rootfs/usr/local/bin/readyprobe \
 && install -D -m 0755 -s /build/sidecar/readyprobe-core /rootfs/usr/local/libexec/readyprobe/readyprobe-core \
 && for lib in $(ldd /rootfs/usr/local/bin/readyprobe /rootfs/usr/local/libexec/readyprobe/readyprobe-core | grep -v ':$' | grep -o '/[^ ]*'); do mkdir -p "/rootfs${lib%/*}" && cp -L "$lib" "/rootfs$lib"; done \
 && chroot --userspec=65532:65532 /rootfs /usr/local/bin/readyprobe --version
# [/rootfs]

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8081
# ECS ignores this (the task definition's healthCheck wins); it serves `docker run` and compose.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["/usr/local/bin/readyprobe", "check"]
ENTRYPOINT ["/usr/local/bin/readyprobe"]
CMD ["serve"]
