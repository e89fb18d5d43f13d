#!/usr/bin/env bash
# The compose deployment (with the optional Prometheus), exercised: build the images (cached), `docker-compose up`, wait until the
# component's /health/ready answers 200 (the time from `up` to ready is printed), drive the demo's
# scripted conversation (ejabberd-test/Demo: real c2s users on the published port, an AMQP consumer on
# the published broker), check that the expected events arrived, and always `docker-compose down -v`.
#
#   containers/compose-test.sh
#
# Host ports: XRC_COMPOSE_{C2S,COMPONENT,AMQP,HTTP}_PORT (default: free ports chosen here, so that servers
# already running on the machine are not in the way). Needs a Docker engine, docker-compose and the .NET SDK.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# free_port: a port on 127.0.0.1 that nothing listens on now (other servers of the machine keep theirs).
free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((30000 + RANDOM % 20000))
        if ! timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" 2>/dev/null; then echo "$p"; return 0; fi
    done
    xrc_die "no free port found"
}
export XRC_COMPOSE_C2S_PORT=${XRC_COMPOSE_C2S_PORT:-$(free_port)}
export XRC_COMPOSE_COMPONENT_PORT=${XRC_COMPOSE_COMPONENT_PORT:-$(free_port)}
export XRC_COMPOSE_AMQP_PORT=${XRC_COMPOSE_AMQP_PORT:-$(free_port)}
export XRC_COMPOSE_HTTP_PORT=${XRC_COMPOSE_HTTP_PORT:-$(free_port)}
export XRC_COMPOSE_PROMETHEUS_PORT=${XRC_COMPOSE_PROMETHEUS_PORT:-$(free_port)}
command -v docker-compose >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null
xrc_docker_ready || xrc_die "no Docker engine answers (containers/engine.sh start)"

"$XRC_CONTAINERS_DIR/build-images.sh" all
project="xrc-compose-$$"
compose() { docker-compose -p "$project" -f "$XRC_CONTAINERS_DIR/docker-compose.yml" -f "$XRC_CONTAINERS_DIR/docker-compose.prometheus.yml" "$@"; }
out=$(mktemp -d)
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ]; then compose logs --no-color --tail=40 >&2 2>/dev/null || true; fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$out"
    exit $rc
}
trap cleanup EXIT

dotnet build -c Release -v quiet -nologo "$XRC_ROOT/ejabberd-test/Demo/Demo.csproj" >/dev/null

t0=$(date +%s.%N)
compose up -d --no-build
elapsed=$(xrc_wait_ready "$XRC_COMPOSE_HTTP_PORT" 60 "$t0")
echo "compose: docker-compose up to component ready in $elapsed s"

XRC_RABBIT_HOST=127.0.0.1 XRC_RABBIT_PORT=$XRC_COMPOSE_AMQP_PORT \
XRC_XMPP_HOST=127.0.0.1 XRC_C2S_PORT=$XRC_COMPOSE_C2S_PORT XRC_COMPONENT_PORT=$XRC_COMPOSE_COMPONENT_PORT \
    dotnet run -c Release --no-build --project "$XRC_ROOT/ejabberd-test/Demo" >"$out/demo.txt"
cat "$out/demo.txt"

# Every kind of event, with the exact routing key and JSON the contract gives.
missing=0
expect() {
    if ! grep -qF -- "$1" "$out/demo.txt"; then echo "MISSING: $1" >&2; missing=$((missing + 1)); fi
}
expect 'exchange=presence       routing_key=alice@localhost                          {"user_id":"alice@localhost/laptop","present":true}'
expect 'routing_key=alice@localhost.chat_msg_sent            {"to_user_id":"bob@localhost","message":"Hello, Bob","from_user_id":"alice@localhost/laptop"}'
expect 'routing_key=bob@localhost.chat_msg_recv              {"to_user_id":"bob@localhost","message":"Hello, Bob","from_user_id":"alice@localhost/laptop"}'
expect 'routing_key=bob@localhost.groupchat_msg_sent'
expect 'routing_key=alice@localhost.groupchat_msg_recv'
expect '{"user_id":"alice@localhost/laptop","present":false}'
[ $missing -eq 0 ] || xrc_die "$missing expected events did not arrive through the compose deployment"
echo "compose: events checked on the broker ($(grep -c -- '-> exchange=' "$out/demo.txt") received)"

# Prometheus scraped the component: the published-events counter it holds is above 0.
value=
for _ in $(seq 1 60); do
    value=$(curl -fsS "http://127.0.0.1:$XRC_COMPOSE_PROMETHEUS_PORT/api/v1/query?query=sum(mod_event_pusher_rabbit_messages_published_total)" 2>/dev/null \
        | grep -o '"value":\[[^]]*\]' | grep -o '"[0-9.]*"\]' | tr -d '"]' || true)
    [ -n "$value" ] && [ "${value%%.*}" -gt 0 ] 2>/dev/null && break
    value=
    sleep 1
done
[ -n "$value" ] || xrc_die "Prometheus has no mod_event_pusher_rabbit_messages_published_total above 0 from the component"
echo "compose: Prometheus scraped the component (messages published: $value)"
