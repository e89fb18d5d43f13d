#!/usr/bin/env bash
# Builds the container images of the repository, with Docker's cache (a second run takes seconds):
#
#   containers/build-images.sh [servers|component|all]      (default: all)
#
#   servers:   xrc-test/rabbitmq:3.10, xrc-test/ejabberd:23.01, xrc-test/prosody:0.12 (the test servers, from Debian's packages,
#              with the configuration the tests use)
#   all also:  xrc-test/prometheus:2.42 (Debian's package, for the optional Prometheus of the compose file)
#   component: xmpp-rabbit-component:local (containers/component/Dockerfile)
#
# The base image is the build argument BASE_IMAGE (default debian:bookworm-slim). When that image is
# neither present nor pullable (no registry), an equivalent base is made locally once with debootstrap
# and `docker import` (xrc-local/debian:bookworm) and used instead. Without a registry the component
# image is built from a `dotnet publish` on this machine (COMPONENT_BUILD=host) instead of the SDK image.
#
# Environment: XRC_BASE_IMAGE, XRC_LOCAL_BASE_IMAGE, XRC_*_IMAGE (names, see lib.sh),
# XRC_DEBIAN_MIRROR (default: the first URI of /etc/apt/sources.list.d/debian.sources),
# XRC_COMPONENT_BUILD=sdk|host (default: sdk when the SDK image is present or pullable, else host).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what=${1:-all}
case "$what" in servers|component|all) ;; *) echo "usage: $0 [servers|component|all]" >&2; exit 2 ;; esac
xrc_docker_ready || xrc_die "no Docker engine answers (start one: dockerd --host unix:///var/run/docker.sock &, or containers/engine.sh start)"

# try_pull IMAGE: true when IMAGE is present or could be pulled now.
try_pull() {
    xrc_image_exists "$1" && return 0
    timeout 120 docker pull -q "$1" >/dev/null 2>&1
}

debian_mirror() {
    if [ -n "${XRC_DEBIAN_MIRROR:-}" ]; then echo "$XRC_DEBIAN_MIRROR"; return; fi
    local m=
    [ -f /etc/apt/sources.list.d/debian.sources ] && m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    [ -z "$m" ] && [ -f /etc/apt/sources.list ] && m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    echo "${m:-http://deb.debian.org/debian}"
}

# make_local_base: debootstrap a minimal bookworm, trimmed like Debian's -slim images, and import it.
make_local_base() {
    local img=$XRC_LOCAL_BASE_IMAGE
    xrc_image_exists "$img" && return 0
    if ! command -v debootstrap >/dev/null 2>&1; then
        xrc_log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
    fi
    local mirror rootfs t0=$SECONDS
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d /var/tmp/xrc-rootfs.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$rootfs'" EXIT
    xrc_log "no registry image $XRC_BASE_IMAGE: making $img with debootstrap from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 30 "$rootfs.log" >&2; rm -f "$rootfs.log"; xrc_die "debootstrap failed"; }
    rm -f "$rootfs.log"
    # The host's apt sources (the same mirror, plus security updates) when it has them.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
        rm -f "$rootfs/etc/apt/sources.list"
    fi
    # As in Debian's official images: services never start during package installs, no docs, clean apt.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
    tar --numeric-owner -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$img" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    xrc_log "made $img in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$img" | awk '{printf "%d MB", $1/1e6}'))"
}

BASE=$XRC_BASE_IMAGE
if ! try_pull "$BASE"; then
    make_local_base
    BASE=$XRC_LOCAL_BASE_IMAGE
fi

build() { # build IMAGE DOCKERFILE [ARGS...]
    local img=$1 file=$2 t0=$SECONDS
    shift 2
    xrc_docker_build --network host -q -f "$XRC_CONTAINERS_DIR/$file" -t "$img" "$@" "$XRC_ROOT" >/dev/null \
        || xrc_die "building $img ($file) failed; rerun without -q: docker build --network host -f containers/$file ."
    echo "image $img ready ($((SECONDS - t0)) s, $(docker image inspect -f '{{.Size}}' "$img" | awk '{printf "%d MB", $1/1e6}'))"
}

if [ "$what" != component ]; then
    build "$XRC_RABBITMQ_IMAGE" rabbitmq/Dockerfile --build-arg "BASE_IMAGE=$BASE"
    build "$XRC_EJABBERD_IMAGE" ejabberd/Dockerfile --build-arg "BASE_IMAGE=$BASE"
    build "$XRC_PROSODY_IMAGE" prosody/Dockerfile --build-arg "BASE_IMAGE=$BASE"
fi

if [ "$what" = all ]; then
    build "$XRC_PROMETHEUS_IMAGE" prometheus/Dockerfile --build-arg "BASE_IMAGE=$BASE"
fi

if [ "$what" != servers ]; then
    mode=${XRC_COMPONENT_BUILD:-}
    if [ -z "$mode" ]; then
        if [ "$BASE" = "$XRC_BASE_IMAGE" ] && try_pull mcr.microsoft.com/dotnet/sdk:10.0 && try_pull mcr.microsoft.com/dotnet/aspnet:10.0; then
            mode=sdk
        else
            mode=host
        fi
    fi
    if [ "$mode" = host ]; then
        # A self-contained publish on this machine, copied onto the Debian base.
        out="$XRC_CONTAINERS_DIR/component/host-publish"
        command -v dotnet >/dev/null 2>&1 || xrc_die "COMPONENT_BUILD=host needs the .NET 10 SDK on this machine"
        t0=$SECONDS
        # Its own artifacts folder: a RID-specific restore in Component/obj would make the next plain build restore again.
        dotnet publish "$XRC_ROOT/Component/Component.csproj" -c Release -r linux-x64 --self-contained \
            --artifacts-path "$XRC_CONTAINERS_DIR/component/.artifacts" -o "$out/app" -v quiet -nologo >/dev/null \
            || xrc_die "dotnet publish failed; rerun: dotnet publish Component -c Release -r linux-x64 --self-contained"
        echo "dotnet publish (self-contained, linux-x64) done ($((SECONDS - t0)) s)"
        build "$XRC_COMPONENT_IMAGE" component/Dockerfile --build-arg COMPONENT_BUILD=host --build-arg "RUNTIME_IMAGE=$BASE"
    else
        build "$XRC_COMPONENT_IMAGE" component/Dockerfile
    fi
fi
