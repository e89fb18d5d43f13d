#!/usr/bin/env bash
# Install (when missing), start, stop and report the private test servers:
# RabbitMQ `main` (127.0.0.1:5673), RabbitMQ `second` (127.0.0.1:5674, the broker that
# crash tests kill and restart), ejabberd (c2s 5322, component 5375) and Prosody
# (prosody-test/prosody.sh: c2s 5332, component 5385).
#
#   ejabberd-test/servers.sh {start|stop|status}
#
# XRC_XMPP_SERVERS lists the XMPP servers the tests run on (default "ejabberd prosody");
# Prosody is started only when listed. It is written into servers.env.
# `start` writes ejabberd-test/.run/servers.env (KEY=value lines; load it with
# `set -a; . ejabberd-test/.run/servers.env; set +a`).
# `stop` also stops RabbitMQ `second` when a test left it running.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROSODY_SH="$XRC_TEST_DIR/../prosody-test/prosody.sh"
XMPP_SERVERS=${XRC_XMPP_SERVERS:-ejabberd prosody}
XMPP_SERVERS=${XMPP_SERVERS//,/ }
with_prosody() { [[ " $XMPP_SERVERS " == *" prosody "* ]]; }

write_env() {
    mkdir -p "$XRC_RUN_DIR"
    cat >"$XRC_RUN_DIR/servers.env.tmp" <<ENV
XRC_RABBIT_HOST=127.0.0.1
XRC_RABBIT_PORT=${XRC_RABBIT_PORT:-5673}
XRC_RABBIT2_PORT=${XRC_RABBIT2_PORT:-5674}
XRC_RABBIT_TLS_PORT=${XRC_RABBIT_TLS_PORT:-5683}
XRC_RABBIT_TLS_DIR=$XRC_RUN_DIR/rabbit-main/tls
XRC_RABBIT_USER=guest
XRC_RABBIT_PASS=guest
XRC_XMPP_HOST=127.0.0.1
XRC_C2S_PORT=${XRC_C2S_PORT:-5322}
XRC_COMPONENT_PORT=${XRC_COMPONENT_PORT:-5375}
XRC_COMPONENT_DOMAIN=${XRC_COMPONENT_DOMAIN:-events.localhost}
XRC_COMPONENT_SECRET=${XRC_COMPONENT_SECRET:-secret}
XRC_XMPP_DOMAIN=localhost
XRC_MUC_DOMAIN=muc.localhost
XRC_PROSODY_C2S_PORT=${XRC_PROSODY_C2S_PORT:-$((5332 + ${XRC_PORT_OFFSET:-0}))}
XRC_PROSODY_COMPONENT_PORT=${XRC_PROSODY_COMPONENT_PORT:-$((5385 + ${XRC_PORT_OFFSET:-0}))}
XRC_XMPP_SERVERS="$XMPP_SERVERS"
ENV
    mv "$XRC_RUN_DIR/servers.env.tmp" "$XRC_RUN_DIR/servers.env"
}

do_start() {
    xrc_install_packages
    mkdir -p "$XRC_RUN_DIR"
    # Start both at once (each spends most of its start-up waiting).
    local r_out="$XRC_RUN_DIR/.start-rabbit.out" e_out="$XRC_RUN_DIR/.start-ejabberd.out" r_rc=0 e_rc=0
    local r2_out="$XRC_RUN_DIR/.start-rabbit2.out" r2_rc=0
    "$XRC_TEST_DIR/rabbitmq.sh" start main >"$r_out" 2>&1 &
    local r_pid=$!
    "$XRC_TEST_DIR/rabbitmq.sh" start second >"$r2_out" 2>&1 &
    local r2_pid=$!
    "$XRC_TEST_DIR/ejabberd.sh" start >"$e_out" 2>&1 &
    local e_pid=$!
    local p_out="$XRC_RUN_DIR/.start-prosody.out" p_pid= p_rc=0
    : >"$p_out"
    if with_prosody; then "$PROSODY_SH" start >"$p_out" 2>&1 & p_pid=$!; fi
    wait "$r_pid" || r_rc=$?
    wait "$e_pid" || e_rc=$?
    wait "$r2_pid" || r2_rc=$?
    if [ -n "$p_pid" ]; then wait "$p_pid" || p_rc=$?; fi
    if [ $r_rc -ne 0 ] || [ $e_rc -ne 0 ] || [ $r2_rc -ne 0 ] || [ $p_rc -ne 0 ]; then
        cat "$r_out" "$r2_out" "$e_out" "$p_out" >&2
        xrc_die "starting the test servers failed (rabbitmq main exit $r_rc, rabbitmq second exit $r2_rc, ejabberd exit $e_rc, prosody exit $p_rc)"
    fi
    # One line per server (the inet_config chatter of ejabberdctl is dropped).
    grep -E '^rabbitmq ' "$r_out" | tail -n 1
    grep -E '^rabbitmq ' "$r2_out" | tail -n 1
    grep -E '^ejabberd ' "$e_out" | tail -n 1
    grep -E '^prosody ' "$p_out" | tail -n 1 || true
    rm -f "$r_out" "$r2_out" "$e_out" "$p_out"
    write_env
    echo "connection facts: $XRC_RUN_DIR/servers.env"
}

do_stop() {
    local rc=0
    "$XRC_TEST_DIR/ejabberd.sh" stop || rc=1
    "$PROSODY_SH" stop || rc=1
    "$XRC_TEST_DIR/rabbitmq.sh" stop main || rc=1
    if "$XRC_TEST_DIR/rabbitmq.sh" status second >/dev/null 2>&1 \
        || [ -f "$XRC_RUN_DIR/rabbit-second/epmd.pid" ]; then
        "$XRC_TEST_DIR/rabbitmq.sh" stop second || rc=1
    fi
    return $rc
}

do_status() {
    local rc=0
    "$XRC_TEST_DIR/rabbitmq.sh" status main || rc=1
    "$XRC_TEST_DIR/rabbitmq.sh" status second || rc=1
    "$XRC_TEST_DIR/ejabberd.sh" status || rc=1
    if with_prosody; then "$PROSODY_SH" status || rc=1; fi
    return $rc
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
