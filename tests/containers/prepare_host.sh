#!/bin/bash
# Prepares this machine for `make test-containers` (see ../../shared/CONTAINERS.md):
#   - as root on Debian, installs podman, runc and debootstrap when they are missing;
#   - writes /etc/containers/containers.conf (no ulimit raise: the VM refuses it; runc: crun refuses
#     the hybrid cgroup layout of these machines) unless one exists that already says both;
#   - makes the base images the compose file and the Dockerfile name when they are missing. No registry can
#     be reached, so they are stand-ins built from a Debian bookworm root file system (debootstrap):
#       docker.io/library/python:3.11-slim-bookworm   python3 3.11 (at /usr/bin, with a `python` link)
#       docker.io/library/redis:7-bookworm             Debian's redis-server 7.0
#       docker.io/library/postgres:15-bookworm         Debian's PostgreSQL 15 with the official image's
#                                                      POSTGRES_USER/PASSWORD/DB start-up (services/)
#       docker.io/library/nginx:1.22-bookworm          Debian's nginx 1.22, conf.d/ included
#     They are kept between runs (a Docker host keeps pulled images the same way); CONTAINER_KEEP_BASE=0
#     in the test removes them too. Where the official images exist they are used as they are.
# Exit status: 0 ready; 1 something is missing that this script cannot install (the message says what).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "prepare-host: $*"; }
fail() { echo "prepare-host: $*" >&2; exit 1; }

is_root_debian() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

install_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root_debian || fail "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}" ||
        { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"; }
}

write_containers_conf() {
    local conf=/etc/containers/containers.conf
    if [ -f "$conf" ] && grep -q '^default_ulimits *= *\[\]' "$conf" && grep -q '^runtime *= *"runc"' "$conf"; then
        return 0
    fi
    [ "$(id -u)" = 0 ] || fail "$conf needs default_ulimits = [] and runtime = \"runc\" (run as root once)"
    [ -f "$conf" ] && cp "$conf" "$conf.before-filmclub"
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' > "$conf"
    say "wrote $conf${conf:+ (any earlier one kept as $conf.before-filmclub)}"
}

have_image() { podman image exists "$1"; }

make_python_base() {
    local tag=docker.io/library/python:3.11-slim-bookworm
    have_image "$tag" && return 0
    [ "$(id -u)" = 0 ] || fail "the base image $tag is missing and only root can make it (debootstrap)"
    local rootfs
    rootfs=$(mktemp -d /var/tmp/filmclub-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' RETURN
    say "making $tag from Debian bookworm (debootstrap, 2-4 minutes)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" >/dev/null
    ln -sf python3 "$rootfs/usr/bin/python"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import -q \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' - "$tag" >/dev/null
}

make_service_image() {  # tag, target in services/Dockerfile
    have_image "$1" && return 0
    say "making $1 (Debian's packages on the base image)"
    # Debian's mirror is plain http (packages are signed): no host certificates mounted, so packages
    # that write to /etc/ssl/certs (ssl-cert, for PostgreSQL) can.
    podman build -q --network host --target "$2" -t "$1" \
        -f "$here/services/Dockerfile" "$here/services" >/dev/null
}

install_packages
write_containers_conf
make_python_base
make_service_image docker.io/library/redis:7-bookworm redis
make_service_image docker.io/library/postgres:15-bookworm postgres
make_service_image docker.io/library/nginx:1.22-bookworm nginx
say "ready: $(podman --version), images $(podman images --format '{{.Repository}}:{{.Tag}}' | tr '\n' ' ')"
