#!/usr/bin/env bash
# A Docker engine for tests and CI, started by hand (no systemd needed):
#
#   containers/engine.sh start          installs docker.io when missing, starts dockerd unless an engine answers
#   containers/engine.sh stop [--purge] stops the dockerd this script started (by its PID), removes the test
#                                       containers left behind, docker0, docker's nft tables and netns mount;
#                                       --purge also deletes /var/lib/docker (images and cache)
#   containers/engine.sh status
#
# An engine that was already running is used and never stopped. Log and PID: containers/.run/.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN="$XRC_CONTAINERS_DIR/.run"
PIDFILE="$RUN/dockerd.pid"
LOG="$RUN/dockerd.log"
SOCK=/var/run/docker.sock

our_pid() {
    local p
    p=$(cat "$PIDFILE" 2>/dev/null || true)
    [[ $p =~ ^[0-9]+$ ]] && [ -d "/proc/$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dockerd ] && echo "$p"
}

do_start() {
    if xrc_docker_ready; then
        echo "docker engine already answering ($(docker version --format '{{.Server.Version}}')); using it"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        xrc_log "installing docker.io"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >/dev/null \
            || xrc_die "apt-get install docker.io failed"
    fi
    [ "$(id -u)" -eq 0 ] || xrc_die "starting dockerd needs root"
    mkdir -p "$RUN"
    local t0=$SECONDS
    setsid dockerd --host "unix://$SOCK" </dev/null >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 150); do
        if xrc_docker_ready; then
            echo "docker engine started (dockerd pid $(cat "$PIDFILE"), $(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'), $((SECONDS - t0)) s)"
            return 0
        fi
        our_pid >/dev/null || break
        sleep 0.2
    done
    tail -n 30 "$LOG" >&2
    xrc_die "dockerd did not answer within 30 s (log: $LOG)"
}

do_stop() {
    local purge=${1:-} p
    if ! p=$(our_pid); then
        rm -f "$PIDFILE"
        echo "no docker engine started by this script"
        return 0
    fi
    # Test containers a killed test process may have left (the label of Component.Tests' ContainerServers).
    docker ps -aq --filter label=xmpp-rabbit-component.test-run | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 200); do [ -d "/proc/$p" ] || break; sleep 0.1; done
    if [ -d "/proc/$p" ]; then kill -KILL "$p" 2>/dev/null || true; sleep 0.5; fi
    rm -f "$PIDFILE"
    # What dockerd leaves on the host.
    ip link delete docker0 2>/dev/null || true
    # The ip nat / ip filter tables dockerd made (through iptables-nft), only when they hold its chains.
    local t
    for t in nat filter; do
        if command -v nft >/dev/null 2>&1; then
            if nft list table ip "$t" 2>/dev/null | grep -q DOCKER; then nft delete table ip "$t" 2>/dev/null || true; fi
        elif command -v iptables >/dev/null 2>&1 && iptables -t "$t" -S 2>/dev/null | grep -q DOCKER; then
            iptables -t "$t" -F 2>/dev/null || true
            iptables -t "$t" -X 2>/dev/null || true
        fi
    done
    if mountpoint -q /run/docker/netns/default 2>/dev/null; then umount /run/docker/netns/default 2>/dev/null || true; fi
    if [ "$purge" = --purge ]; then
        rm -rf /var/lib/docker
        echo "docker engine stopped (pid $p), /var/lib/docker deleted"
    else
        echo "docker engine stopped (pid $p); images kept in /var/lib/docker"
    fi
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop "${2:-}" ;;
    status) if xrc_docker_ready; then echo "docker engine answering (started here: $(our_pid || echo no))"; else echo "no docker engine"; exit 3; fi ;;
    *) echo "usage: $0 {start|stop [--purge]|status}" >&2; exit 2 ;;
esac
