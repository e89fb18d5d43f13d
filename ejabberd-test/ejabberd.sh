#!/usr/bin/env bash
# Private ejabberd on loopback for tests and the demo.
#
#   ejabberd-test/ejabberd.sh {start|stop|restart|kill|status|reset}
#
# c2s 127.0.0.1:5322 (no TLS), component listener 127.0.0.1:5375 for
# events.localhost (secret `secret`), node xrc-ejabberd@localhost with a fixed
# distribution port (no epmd). Scratch: ejabberd-test/.run/ejabberd/ (owned by
# the `ejabberd` user, as ejabberdctl switches to it when run as root).
# `start` also registers alice, bob, carol, dave, bench1..bench4 (password
# `password`) and makes alice/bob/carol mutual roster friends.
#
# Environment overrides: XRC_C2S_PORT, XRC_COMPONENT_PORT, XRC_COMPONENT_DOMAIN,
# XRC_COMPONENT_SECRET, XRC_EJABBERD_DIST_PORT (default 25375),
# XRC_EJABBERD_START_TIMEOUT (seconds, default 60).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 {start|stop|restart|kill|status|reset}" >&2; exit 2; }

HOST=127.0.0.1
DOMAIN=localhost
C2S_PORT=${XRC_C2S_PORT:-5322}
COMPONENT_PORT=${XRC_COMPONENT_PORT:-5375}
COMPONENT_DOMAIN=${XRC_COMPONENT_DOMAIN:-events.localhost}
COMPONENT_SECRET=${XRC_COMPONENT_SECRET:-secret}
DIST_PORT=${XRC_EJABBERD_DIST_PORT:-25375}
START_TIMEOUT=${XRC_EJABBERD_START_TIMEOUT:-60}
NODE=xrc-ejabberd@localhost
EJ_USER=ejabberd
DIR="$XRC_RUN_DIR/ejabberd"

# ejabberdctl runs the node as the `ejabberd` user, which must be able to
# reach the scratch folder. When the checkout sits below a folder that user
# cannot enter (e.g. a 0700 temporary folder), the scratch folder goes to
# /var/tmp instead and .run/ejabberd becomes a symlink to it.
if [ -L "$DIR" ]; then
    DIR=$(readlink "$DIR")
elif [ "$(id -u)" -eq 0 ] && [ ! -e "$DIR" ] && id "$EJ_USER" >/dev/null 2>&1; then
    mkdir -p "$XRC_RUN_DIR"
    if ! su -s /bin/sh -c 'test -x "$0"' "$EJ_USER" "$XRC_RUN_DIR" 2>/dev/null; then
        alt="/var/tmp/xrc-ejabberd-$(printf '%s' "$XRC_RUN_DIR" | md5sum | cut -c1-12)"
        mkdir -p "$alt"
        ln -s "$alt" "$DIR"
        DIR=$alt
    fi
fi
ETC="$DIR/etc"
CTL=/usr/sbin/ejabberdctl

USERS=(alice bob carol dave bench1 bench2 bench3 bench4)
FRIENDS=(alice bob carol)
USER_PASSWORD=password

ejc() { "$CTL" --config-dir "$ETC" --spool "$DIR/spool" --logs "$DIR/logs" "$@"; }

node_pid() {
    local p
    p=$(cat "$DIR/ejabberd.pid" 2>/dev/null || true)
    if xrc_pid_alive "$p" "$NODE"; then echo "$p"; return 0; fi
    return 1
}

is_running() { [ -f "$ETC/ejabberdctl.cfg" ] && ejc status >/dev/null 2>&1; }

render() {
    local cookie
    mkdir -p "$ETC/modules.d" "$DIR/spool" "$DIR/logs" "$DIR/contrib"
    if [ ! -s "$DIR/cookie" ]; then
        # Private Erlang cookie, made once per scratch folder.
        tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 >"$DIR/cookie" || true
    fi
    cookie=$(cat "$DIR/cookie")
    sed -e "s|@C2S_PORT@|$C2S_PORT|g" \
        -e "s|@COMPONENT_PORT@|$COMPONENT_PORT|g" \
        -e "s|@COMPONENT_DOMAIN@|$COMPONENT_DOMAIN|g" \
        -e "s|@COMPONENT_SECRET@|$COMPONENT_SECRET|g" \
        "$XRC_TEST_DIR/ejabberd.yml" >"$ETC/ejabberd.yml"
    sed -e "s|@COOKIE@|$cookie|g" \
        -e "s|@DIST_PORT@|$DIST_PORT|g" \
        -e "s|@RUN_DIR@|$DIR|g" \
        "$XRC_TEST_DIR/ejabberdctl.cfg" >"$ETC/ejabberdctl.cfg"
    # Erlang resolver config (ERL_INETRC points into the config dir).
    printf '%s\n' '{lookup,["file","native"]}.' '{host,{127,0,0,1},["localhost"]}.' \
        '{file,resolv,"/etc/resolv.conf"}.' >"$ETC/inetrc"
    chmod 700 "$DIR"
    chmod 600 "$DIR/cookie"
    if [ "$(id -u)" -eq 0 ]; then
        id "$EJ_USER" >/dev/null 2>&1 || xrc_die "user '$EJ_USER' missing (is the ejabberd package installed?)"
        chown -R "$EJ_USER:$EJ_USER" "$DIR"
    fi
}

fail_start() {
    xrc_log "ERROR: ejabberd ($NODE, c2s $HOST:$C2S_PORT, component $HOST:$COMPONENT_PORT) did not start: $*"
    xrc_tail "$DIR/logs/ejabberd.log" "$DIR/logs/error.log" "$DIR/logs/crash.log"
    exit 1
}

# Run several ejabberdctl commands at once (each call costs 1-2 s of Erlang
# start-up); fails if any of them fails. Arguments: one command per argument,
# words separated by spaces.
ejc_parallel() {
    local pids=() c p rc=0
    for c in "$@"; do
        # shellcheck disable=SC2086
        ejc $c >/dev/null 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}

# Register the fixed test users and the alice/bob/carol mutual rosters.
seed_users() {
    local registered u a b cmds=()
    registered=$(ejc registered_users "$DOMAIN" 2>/dev/null) || fail_start "registered_users failed"
    for u in "${USERS[@]}"; do
        grep -qxF "$u" <<<"$registered" || cmds+=("register $u $DOMAIN $USER_PASSWORD")
    done
    if [ ${#cmds[@]} -gt 0 ]; then
        ejc_parallel "${cmds[@]}" || fail_start "could not register users: ${cmds[*]%% $USER_PASSWORD}"
    fi
    # Rosters are seeded once per spool (add_rosteritem overwrites, so a
    # repeat is harmless, but each ejabberdctl call costs time).
    if [ ! -f "$DIR/spool/.xrc-rosters" ]; then
        cmds=()
        for a in "${FRIENDS[@]}"; do
            for b in "${FRIENDS[@]}"; do
                [ "$a" = "$b" ] || cmds+=("add_rosteritem $a $DOMAIN $b $DOMAIN $b Friends both")
            done
        done
        ejc_parallel "${cmds[@]}" || fail_start "add_rosteritem failed"
        touch "$DIR/spool/.xrc-rosters"
        if [ "$(id -u)" -eq 0 ]; then chown "$EJ_USER:$EJ_USER" "$DIR/spool/.xrc-rosters"; fi
    fi
    return 0
}

do_start() {
    [ -x "$CTL" ] || xrc_die "$CTL missing: apt-get install -y ejabberd (or run ejabberd-test/servers.sh start)"
    if is_running; then
        seed_users
        echo "ejabberd already running: c2s $HOST:$C2S_PORT, component $COMPONENT_DOMAIN@$HOST:$COMPONENT_PORT (node $NODE, pid $(node_pid || echo '?'))"
        return 0
    fi
    local port
    for port in "$C2S_PORT" "$COMPONENT_PORT" "$DIST_PORT"; do
        if xrc_port_open "$HOST" "$port"; then
            xrc_die "port $HOST:$port is already in use by a process this script did not start"
        fi
    done
    render
    rm -f "$DIR/ejabberd.pid"
    # ejabberdctl start detaches (erl -detached); run it in its own session.
    setsid "$CTL" --config-dir "$ETC" --spool "$DIR/spool" --logs "$DIR/logs" start </dev/null \
        || fail_start "ejabberdctl start failed"
    local deadline=$((SECONDS + START_TIMEOUT))
    ejc started >/dev/null 2>&1 || fail_start "'ejabberdctl started' gave up"
    for port in "$C2S_PORT" "$COMPONENT_PORT"; do
        while ! xrc_port_open "$HOST" "$port"; do
            [ $SECONDS -lt $deadline ] || fail_start "port $HOST:$port does not accept within ${START_TIMEOUT}s"
            sleep 0.3
        done
    done
    seed_users
    echo "ejabberd up: c2s $HOST:$C2S_PORT, component $COMPONENT_DOMAIN@$HOST:$COMPONENT_PORT (node $NODE, pid $(node_pid || echo '?'))"
}

do_stop() {
    local p=
    p=$(node_pid) || p=
    if [ -f "$ETC/ejabberdctl.cfg" ] && { [ -n "$p" ] || is_running; }; then
        ejc stop >/dev/null 2>&1 || xrc_log "ejabberdctl stop failed"
        # Not `ejabberdctl stopped`: wait for the node's own PID instead.
        if [ -n "$p" ] && ! xrc_wait_gone "$p" 30; then
            xrc_log "ejabberd pid $p still alive after 30s; SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
            xrc_wait_gone "$p" 5 || true
        fi
    fi
    rm -f "$DIR/ejabberd.pid"
    echo "ejabberd stopped"
}

# SIGKILL of the node (fault tests): sockets are reset, nothing is said to clients or the component.
do_kill() {
    local p=
    p=$(node_pid) || p=
    if [ -n "$p" ]; then
        kill -KILL "$p" 2>/dev/null || true
        xrc_wait_gone "$p" 10 || xrc_die "ejabberd pid $p survived SIGKILL"
    fi
    rm -f "$DIR/ejabberd.pid"
    echo "ejabberd killed"
}

do_status() {
    if is_running; then
        echo "ejabberd running: c2s $HOST:$C2S_PORT, component $COMPONENT_DOMAIN@$HOST:$COMPONENT_PORT (node $NODE, pid $(node_pid || echo '?'))"
    else
        echo "ejabberd not running"; return 3
    fi
}

do_reset() {
    do_stop >/dev/null
    rm -rf "$DIR"
    [ -L "$XRC_RUN_DIR/ejabberd" ] && rm -f "$XRC_RUN_DIR/ejabberd"
    echo "ejabberd reset (removed $DIR)"
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    restart) do_stop; do_start ;;
    kill) do_kill ;;
    status) do_status ;;
    reset) do_reset ;;
    *) usage ;;
esac
