# Shared helpers for the container scripts (sourced, not executed).
# shellcheck shell=bash

XRC_CONTAINERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
XRC_ROOT="$(cd "$XRC_CONTAINERS_DIR/.." && pwd -P)"

# Image names (override with the environment).
: "${XRC_BASE_IMAGE:=debian:bookworm-slim}"           # the official base, used when present or pullable
: "${XRC_LOCAL_BASE_IMAGE:=xrc-local/debian:bookworm}" # made with debootstrap when no registry answers
: "${XRC_RABBITMQ_IMAGE:=xrc-test/rabbitmq:3.10}"
: "${XRC_EJABBERD_IMAGE:=xrc-test/ejabberd:23.01}"
: "${XRC_PROSODY_IMAGE:=xrc-test/prosody:0.12}"
: "${XRC_COMPONENT_IMAGE:=xmpp-rabbit-component:local}"
: "${XRC_PROMETHEUS_IMAGE:=xrc-test/prometheus:2.42}"

xrc_log() { printf '%s\n' "$*" >&2; }
xrc_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# xrc_docker_ready: true when a Docker engine answers.
xrc_docker_ready() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# xrc_docker_build ARGS...: `docker build` with BuildKit. A client with buildx is used as it is;
# a client older than 23 (Debian's docker.io 20.10) gets DOCKER_BUILDKIT=1 (its built-in BuildKit).
xrc_docker_build() {
    local c v
    for c in docker /usr/bin/docker; do
        command -v "$c" >/dev/null 2>&1 || continue
        if "$c" buildx version >/dev/null 2>&1; then "$c" build "$@"; return; fi
        v=$("$c" version --format '{{.Client.Version}}' 2>/dev/null || true)
        if [ -n "$v" ] && [ "${v%%.*}" -lt 23 ] 2>/dev/null; then DOCKER_BUILDKIT=1 "$c" build "$@"; return; fi
    done
    xrc_die "no docker client can build with BuildKit (install docker-buildx, or Debian's docker.io)"
}

# xrc_image_exists NAME
xrc_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# xrc_wait_ready PORT SECONDS START: waits until the component's /health/ready on 127.0.0.1:PORT answers
# 200, then prints the seconds since START (a `date +%s.%N` value); dies after SECONDS.
xrc_wait_ready() {
    local port=$1 limit=$2 t0=$3 i
    for ((i = 0; i < limit * 20; i++)); do
        if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
            awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f\n", b-a}'
            return 0
        fi
        sleep 0.05
    done
    xrc_die "the component did not become ready on 127.0.0.1:$port within $limit s"
}
