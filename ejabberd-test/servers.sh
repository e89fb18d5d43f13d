#!/usr/bin/env bash
# Install (when missing), start, stop and report the private test servers:
# RabbitMQ `main` (127.0.0.1:5673), RabbitMQ `second` (127.0.0.1:5674, the broker that
# crash tests kill and restart) and ejabberd (c2s 5322, component 5375).
#
#   ejabberd-test/servers.sh {start|stop|status}
#
# `start` writes ejabberd-test/.run/servers.env (KEY=value lines; load it with
# `set -a; . ejabberd-test/.run/servers.env; set +a`).
# `stop` also stops RabbitMQ `second`, and the RabbitMQ cluster of the high-availability tests, when a test left
# them running.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
    wait "$r_pid" || r_rc=$?
    wait "$e_pid" || e_rc=$?
    wait "$r2_pid" || r2_rc=$?
    if [ $r_rc -ne 0 ] || [ $e_rc -ne 0 ] || [ $r2_rc -ne 0 ]; then
        cat "$r_out" "$r2_out" "$e_out" >&2
        xrc_die "starting the test servers failed (rabbitmq main exit $r_rc, rabbitmq second exit $r2_rc, ejabberd exit $e_rc)"
    fi
    # One line per server (the inet_config chatter of ejabberdctl is dropped).
    grep -E '^rabbitmq ' "$r_out" | tail -n 1
    grep -E '^rabbitmq ' "$r2_out" | tail -n 1
    grep -E '^ejabberd ' "$e_out" | tail -n 1
    rm -f "$r_out" "$r2_out" "$e_out"
    write_env
    echo "connection facts: $XRC_RUN_DIR/servers.env"
}

do_stop() {
    local rc=0
    "$XRC_TEST_DIR/ejabberd.sh" stop || rc=1
    "$XRC_TEST_DIR/rabbitmq.sh" stop main || rc=1
    if "$XRC_TEST_DIR/rabbitmq.sh" status second >/dev/null 2>&1 \
        || [ -f "$XRC_RUN_DIR/rabbit-second/epmd.pid" ]; then
        "$XRC_TEST_DIR/rabbitmq.sh" stop second || rc=1
    fi
    # The high-availability tests start and stop their RabbitMQ cluster themselves; stop it if a run left it up.
    if [ -f "$XRC_RUN_DIR/rabbit-cluster/epmd.pid" ]; then
        "$XRC_TEST_DIR/rabbitmq-cluster.sh" stop || rc=1
    fi
    return $rc
}

do_status() {
    local rc=0
    "$XRC_TEST_DIR/rabbitmq.sh" status main || rc=1
    "$XRC_TEST_DIR/rabbitmq.sh" status second || rc=1
    "$XRC_TEST_DIR/ejabberd.sh" status || rc=1
    return $rc
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
