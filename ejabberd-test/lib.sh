# Shared helpers for the ejabberd-test scripts (sourced, not executed).
# shellcheck shell=bash

XRC_TEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
XRC_RUN_DIR="$XRC_TEST_DIR/.run"

xrc_log() { printf '%s\n' "$*" >&2; }
xrc_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# xrc_port_open HOST PORT: true when a TCP connect succeeds (no nc needed).
xrc_port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# xrc_pid_alive PID [ARG]: true when PID exists (not a zombie) and, if ARG is
# given, one of its command-line arguments equals ARG exactly (guards against
# a recycled PID belonging to somebody else).
xrc_pid_alive() {
    local pid=$1 want=${2:-}
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -d "/proc/$pid" ] || return 1
    local state
    state=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
    [ "$state" = Z ] && return 1
    [ -z "$want" ] && return 0
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$want"
}

# xrc_wait_gone PID SECONDS: wait for a process to disappear.
xrc_wait_gone() {
    local pid=$1 n=$(( $2 * 10 ))
    while xrc_pid_alive "$pid" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    ! xrc_pid_alive "$pid"
}

# xrc_tail FILE...: last lines of logs, for error messages.
xrc_tail() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2
    done
}

# xrc_sudo: run as root (directly when already root).
xrc_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# xrc_apt_install PACKAGE...: apt-get install the packages (via sudo when not root), keeping
# their services from being started by the package scripts (policy-rc.d).
xrc_apt_install() {
    xrc_log "installing missing packages: $*"
    local policy=/usr/sbin/policy-rc.d made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | xrc_sudo tee "$policy" >/dev/null
        xrc_sudo chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    xrc_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if [ $rc -eq 0 ]; then
        xrc_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "$@" || rc=$?
    fi
    [ -n "$made_policy" ] && xrc_sudo rm -f "$policy"
    [ $rc -eq 0 ] || xrc_die "apt-get install $* failed (exit $rc)"
}

# xrc_install_packages: apt-get install rabbitmq-server and ejabberd when missing.
xrc_install_packages() {
    local missing=()
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
    [ -x /usr/sbin/ejabberdctl ] || missing+=(ejabberd)
    command -v openssl >/dev/null || missing+=(openssl)
    [ ${#missing[@]} -eq 0 ] && return 0
    xrc_apt_install "${missing[@]}"
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || xrc_die "rabbitmq-server still missing after install"
    [ -x /usr/sbin/ejabberdctl ] || xrc_die "ejabberdctl still missing after install"
}
