#!/usr/bin/env bash
# Private Prosody on loopback for tests and the demo, the counterpart of ejabberd-test/ejabberd.sh.
#
#   prosody-test/prosody.sh {start|stop|restart|kill|status|reset}
#
# c2s 127.0.0.1:5332 (no TLS), component listener 127.0.0.1:5385 for events.localhost (secret
# `secret`), MUC muc.localhost; each default port is moved by XRC_PORT_OFFSET. Runs
# `prosody --config FILE -F` as a plain process in its own session; `stop` (SIGTERM) and `kill`
# (SIGKILL) act only on the PID this script recorded, checked against the process's command line.
# Scratch: prosody-test/.run/prosody/ (etc/, data/, prosody.log, console.log, server.pid).
# `start` installs prosody and prosody-modules from Debian when missing, registers alice, bob, carol,
# dave, bench1..bench4 (password `password`; prosodyctl, while the server is stopped) and makes
# alice/bob/carol mutual roster friends (group Friends, written into the internal storage, as
# Prosody 0.12 has no roster command).
#
# Environment overrides: XRC_PROSODY_C2S_PORT, XRC_PROSODY_COMPONENT_PORT, XRC_COMPONENT_DOMAIN,
# XRC_COMPONENT_SECRET, XRC_PORT_OFFSET, XRC_PROSODY_START_TIMEOUT (seconds, default 20),
# XRC_PROSODY_LOG_LEVEL (default info; debug shows every stanza), XRC_PROSODY_INTERFACE (default 127.0.0.1).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=../ejabberd-test/lib.sh
. "$HERE/../ejabberd-test/lib.sh"

usage() { echo "usage: $0 {start|stop|restart|kill|status|reset}" >&2; exit 2; }

HOST=127.0.0.1
INTERFACE=${XRC_PROSODY_INTERFACE:-127.0.0.1} # where it listens (0.0.0.0 in containers/prosody)
DOMAIN=localhost
OFFSET=${XRC_PORT_OFFSET:-0}
C2S_PORT=${XRC_PROSODY_C2S_PORT:-$((5332 + OFFSET))}
COMPONENT_PORT=${XRC_PROSODY_COMPONENT_PORT:-$((5385 + OFFSET))}
COMPONENT_DOMAIN=${XRC_COMPONENT_DOMAIN:-events.localhost}
COMPONENT_SECRET=${XRC_COMPONENT_SECRET:-secret}
START_TIMEOUT=${XRC_PROSODY_START_TIMEOUT:-20}
LOG_LEVEL=${XRC_PROSODY_LOG_LEVEL:-info}
DIR="$HERE/.run/prosody"
ETC="$DIR/etc"
CFG="$ETC/prosody.cfg.lua"
PIDFILE="$DIR/server.pid"

USERS=(alice bob carol dave bench1 bench2 bench3 bench4)
FRIENDS=(alice bob carol)
USER_PASSWORD=password

install_packages() {
    local missing=()
    command -v prosody >/dev/null || missing+=(prosody)
    [ -f /usr/lib/prosody/modules/mod_firewall/mod_firewall.lua ] \
        && [ -f /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ] || missing+=(prosody-modules)
    [ ${#missing[@]} -eq 0 ] && return 0
    xrc_apt_install "${missing[@]}"
    command -v prosody >/dev/null || xrc_die "prosody still missing after install"
}

server_pid() {
    local p
    p=$(cat "$PIDFILE" 2>/dev/null || true)
    if xrc_pid_alive "$p" "$CFG"; then echo "$p"; return 0; fi
    return 1
}

describe() { echo "c2s $HOST:$C2S_PORT, component $COMPONENT_DOMAIN@$HOST:$COMPONENT_PORT"; }

render() {
    mkdir -p "$ETC/certs" "$DIR/data" # no certificates: plain TCP on loopback
    chmod 700 "$DIR"
    sed -e "s|@C2S_PORT@|$C2S_PORT|g" \
        -e "s|@COMPONENT_PORT@|$COMPONENT_PORT|g" \
        -e "s|@INTERFACE@|$INTERFACE|g" \
        -e "s|@COMPONENT_DOMAIN@|$COMPONENT_DOMAIN|g" \
        -e "s|@COMPONENT_SECRET@|$COMPONENT_SECRET|g" \
        -e "s|@LOG_LEVEL@|$LOG_LEVEL|g" \
        -e "s|@TEST_DIR@|$HERE|g" \
        -e "s|@DIR@|$DIR|g" \
        "$HERE/prosody.cfg.lua" >"$CFG"
    sed -e "s|@COMPONENT_DOMAIN@|$COMPONENT_DOMAIN|g" -e "s|@XMPP_DOMAIN@|$DOMAIN|g" "$HERE/events.pfw" >"$ETC/events.pfw"
}

fail_start() {
    xrc_log "ERROR: Prosody ($(describe)) did not start: $*"
    xrc_tail "$DIR/console.log" "$DIR/prosody.log"
    exit 1
}

# Users (prosodyctl works with the server stopped) and the alice/bob/carol rosters, once per data folder.
seed_users() {
    local u a b f
    for u in "${USERS[@]}"; do
        [ -f "$DIR/data/$DOMAIN/accounts/$u.dat" ] && continue
        prosodyctl --config "$CFG" register "$u" "$DOMAIN" "$USER_PASSWORD" >>"$DIR/console.log" 2>&1 \
            || fail_start "prosodyctl register $u $DOMAIN failed"
    done
    mkdir -p "$DIR/data/$DOMAIN/roster"
    for a in "${FRIENDS[@]}"; do
        f="$DIR/data/$DOMAIN/roster/$a.dat"
        [ -f "$f" ] && continue
        {
            echo 'return {'
            echo '	[false] = { ["version"] = 1; };'
            for b in "${FRIENDS[@]}"; do
                [ "$a" = "$b" ] && continue
                echo "	[\"$b@$DOMAIN\"] = { [\"subscription\"] = \"both\"; [\"name\"] = \"$b\"; [\"groups\"] = { [\"Friends\"] = true; }; };"
            done
            echo '};'
        } >"$f.tmp"
        mv "$f.tmp" "$f"
    done
}

do_start() {
    install_packages
    local p
    if p=$(server_pid); then
        echo "prosody already running: $(describe) (pid $p)"
        return 0
    fi
    local port
    for port in "$C2S_PORT" "$COMPONENT_PORT"; do
        if xrc_port_open "$HOST" "$port"; then
            xrc_die "port $HOST:$port is already in use by a process this script did not start"
        fi
    done
    render
    seed_users
    # Foreground process in its own session; its PID is the one recorded.
    setsid prosody --config "$CFG" -F </dev/null >>"$DIR/console.log" 2>&1 &
    p=$!
    echo "$p" >"$PIDFILE"
    local deadline=$((SECONDS + START_TIMEOUT))
    for port in "$C2S_PORT" "$COMPONENT_PORT"; do
        while ! xrc_port_open "$HOST" "$port"; do
            xrc_pid_alive "$p" || fail_start "the process exited"
            [ $SECONDS -lt $deadline ] || fail_start "port $HOST:$port does not accept within ${START_TIMEOUT}s"
            sleep 0.1
        done
    done
    echo "prosody up: $(describe) (pid $p)"
}

# stop_with SIGNAL SECONDS: signal the recorded PID and wait for it to go (SIGKILL after SECONDS).
stop_with() {
    local p=
    p=$(server_pid) || p=
    if [ -n "$p" ]; then
        kill "-$1" "$p" 2>/dev/null || true
        if ! xrc_wait_gone "$p" "$2"; then
            xrc_log "prosody pid $p still alive after $2 s; SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
            xrc_wait_gone "$p" 5 || xrc_die "prosody pid $p survived SIGKILL"
        fi
    fi
    rm -f "$PIDFILE"
}

do_status() {
    local p
    if p=$(server_pid); then
        echo "prosody running: $(describe) (pid $p)"
    else
        echo "prosody not running"; return 3
    fi
}

case "${1:-}" in
    start) do_start ;;
    stop) stop_with TERM 10; echo "prosody stopped" ;;
    restart) stop_with TERM 10; do_start ;;
    kill) stop_with KILL 5; echo "prosody killed" ;;
    status) do_status ;;
    reset) stop_with TERM 10; rm -rf "$DIR"; echo "prosody reset (removed $DIR)" ;;
    *) usage ;;
esac
