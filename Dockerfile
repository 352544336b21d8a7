# syntax=docker/dockerfile:1
# readyprobe container image:   podman build --format docker -t readyprobe:0.1.0 .
#                               (or: docker build -t readyprobe:0.1.0 .)
#
# BASE_IMAGE is the Debian 12 image of the build stage, the only image this file pulls (the final
# stage is FROM scratch). Pin it by digest for a reproducible build:
#   podman pull docker.io/library/debian:12
#   podman image inspect --format '{{.Digest}}' docker.io/library/debian:12     # sha256:...
#   podman build --format docker --build-arg BASE_IMAGE=docker.io/library/debian:12@sha256:<that> \
#     -t readyprobe:0.1.0 .
# (`skopeo inspect docker://docker.io/library/debian:12` prints the same digest without pulling.)
# The test suite (tests/image/run.sh) has no registry: it builds from a debootstrap'ed Debian 12
# imported as local/debian:12 (--build-arg BASE_IMAGE=local/debian:12).
#
# Stage 1 builds on Debian 12 with the same -dev packages as scripts/install-deps.sh, less
# libpqxx-dev: only examples/orders-service needs it, and the image is built without it.
# Stage 2 is FROM scratch: the two binaries, exactly the shared libraries `ldd` says they need
# (loader included), CA certificates, an /etc/passwd with the nonroot user and /tmp, all from the
# build stage: one consistent Debian 12 set, no shell, no package manager.
# Size and reasoning: task-definitions/README.md ("The image").
ARG BASE_IMAGE=docker.io/library/debian:12

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcpp-httplib-dev libpq-dev libhiredis-dev libssl-dev libspdlog-dev \
      nlohmann-json3-dev libcli11-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DREADYPROBE_BUILD_TESTS=OFF \
      -DREADYPROBE_BUILD_EXAMPLES=OFF \
 && cmake --build /build -j2 --target readyprobe readyprobe-core \
 && /build/sidecar/readyprobe --version
# Two binaries: readyprobe (the small front: answers `check` itself, needs only libc) and
# readyprobe-core (the sidecar, which the front execs for everything else) where the front looks.
# Then their shared-library closure at the paths the loader uses; the nonroot user (65532, as in
# distroless images: libpq looks the user up for its defaults) with its home; CA certificates for
# https:// checks and sslrootcert=system; /tmp. Proved by running --version as that user.
RUN install -D -m 0755 -s /build/sidecar/readyprobe /rootfs/usr/local/bin/readyprobe \
 && install -D -m 0755 -s /build/sidecar/readyprobe-core /rootfs/usr/local/libexec/readyprobe/readyprobe-core \
 && for lib in $(ldd /rootfs/usr/local/bin/readyprobe /rootfs/usr/local/libexec/readyprobe/readyprobe-core | grep -v ':$' | grep -o '/[^ ]*'); do mkdir -p "/rootfs${lib%/*}" && cp -L "$lib" "/rootfs$lib"; done \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' >/rootfs/etc/group \
 && install -d -m 0700 -o 65532 -g 65532 /rootfs/home/nonroot \
 && install -d -m 1777 /rootfs/tmp \
 && chroot --userspec=65532:65532 /rootfs /usr/local/bin/readyprobe --version

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8081
# ECS and Kubernetes ignore this (the task definition's healthCheck and the pod's probes win); it
# serves `docker run`, compose and podman (kept with `podman build --format docker`).
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["/usr/local/bin/readyprobe", "check"]
ENTRYPOINT ["/usr/local/bin/readyprobe"]
CMD ["serve"]
