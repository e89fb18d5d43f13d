#!/usr/bin/env bash
# The compose deployment, exercised: build the images (cached), `docker-compose up`, wait until the
# component's /health/ready answers 200 (the time from `up` to ready is printed), drive the demo's
# scripted conversation (ejabberd-test/Demo: real c2s users on the published port, an AMQP consumer on
# the published broker), check that the expected events arrived, and always `docker-compose down -v`.
#
#   containers/compose-test.sh
#
# Host ports: XRC_COMPOSE_{C2S,COMPONENT,AMQP,HTTP}_PORT (default 5222, 5275, 5672, 9464, plus
# XRC_PORT_OFFSET when set). Needs a Docker engine, docker-compose and the .NET SDK (for the demo).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

off=${XRC_PORT_OFFSET:-0}
export XRC_COMPOSE_C2S_PORT=${XRC_COMPOSE_C2S_PORT:-$((5222 + off))}
export XRC_COMPOSE_COMPONENT_PORT=${XRC_COMPOSE_COMPONENT_PORT:-$((5275 + off))}
export XRC_COMPOSE_AMQP_PORT=${XRC_COMPOSE_AMQP_PORT:-$((5672 + off))}
export XRC_COMPOSE_HTTP_PORT=${XRC_COMPOSE_HTTP_PORT:-$((9464 + off))}
command -v docker-compose >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null
xrc_docker_ready || xrc_die "no Docker engine answers (containers/engine.sh start)"

"$XRC_CONTAINERS_DIR/build-images.sh" all
project="xrc-compose-$$"
compose() { docker-compose -p "$project" -f "$XRC_CONTAINERS_DIR/docker-compose.yml" "$@"; }
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
ready=
for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$XRC_COMPOSE_HTTP_PORT/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.1
done
[ -n "$ready" ] || xrc_die "the component did not become ready within 60 s"
echo "compose: docker-compose up to component ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"

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
