#!/usr/bin/env bash
# The main job as a demo, in one command:
#   1. installs (when missing) and starts the private RabbitMQ, ejabberd and Prosody (ejabberd-test/servers.sh),
#   2. builds and starts the component (`dotnet run --project Component`, Development settings),
#      and waits until /health/ready says both connections are up,
#   3. runs a scripted conversation of real users (ejabberd-test/Demo) while a RabbitMQ consumer bound
#      to the three exchanges prints every event it receives,
#   4. stops the component, prints a /metrics excerpt, and stops the servers it started.
# Usage: ejabberd-test/demo.sh [--server ejabberd|prosody] [--keep-servers]
# The component attaches to ejabberd (default) or Prosody; its HTTP port is 9464 + XRC_PORT_OFFSET.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/.." && pwd -P)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

keep= server=ejabberd
while [ $# -gt 0 ]; do
    case "$1" in
        --keep-servers) keep=1 ;;
        --server) server=${2:-}; shift ;;
        --server=*) server=${1#--server=} ;;
        *) echo "usage: $0 [--server ejabberd|prosody] [--keep-servers]" >&2; exit 2 ;;
    esac
    shift
done
case "$server" in
    ejabberd|prosody) ;;
    *) echo "unknown --server '$server' (ejabberd or prosody)" >&2; exit 2 ;;
esac
[ "$server" = prosody ] && export XRC_XMPP_SERVERS="ejabberd prosody"
started_servers=
if ! "$HERE/servers.sh" status >/dev/null 2>&1; then started_servers=1; fi
"$HERE/servers.sh" start
set -a
# shellcheck source=/dev/null
. "$XRC_RUN_DIR/servers.env"
set +a
component_port=$XRC_COMPONENT_PORT
[ "$server" = prosody ] && component_port=$XRC_PROSODY_COMPONENT_PORT
http="http://127.0.0.1:$((9464 + ${XRC_PORT_OFFSET:-0}))"

component_pid=
cleanup() {
    if [ -n "$component_pid" ] && kill -0 "$component_pid" 2>/dev/null; then
        kill -TERM "$component_pid" 2>/dev/null || true
        wait "$component_pid" 2>/dev/null || true
    fi
    if [ -n "$started_servers" ] && [ -z "$keep" ]; then
        "$HERE/servers.sh" stop >/dev/null 2>&1 || true
        echo "stopped the servers this demo started (keep them with: ejabberd-test/demo.sh --keep-servers)"
    elif [ -n "$started_servers" ]; then
        echo "the servers are still running; stop them with: ejabberd-test/servers.sh stop"
    fi
}
trap cleanup EXIT

cd "$ROOT"
echo "building ..."
dotnet build -c Release -v quiet -nologo Component/Component.csproj >/dev/null
dotnet build -c Release -v quiet -nologo ejabberd-test/Demo/Demo.csproj >/dev/null

log="$XRC_RUN_DIR/component.log"
echo "starting the component against $server (log: $log)"
ASPNETCORE_ENVIRONMENT=Development Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__SingleLine=true \
Urls="$http" Xmpp__Port="$component_port" Xmpp__ComponentDomain="$XRC_COMPONENT_DOMAIN" Xmpp__Secret="$XRC_COMPONENT_SECRET" \
Rabbit__Port="$XRC_RABBIT_PORT" \
    dotnet run -c Release --no-build --project Component >"$log" 2>&1 &
component_pid=$!

ready=
for _ in $(seq 1 150); do
    if curl -fsS "$http"/health/ready >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "$component_pid" 2>/dev/null || break
    sleep 0.2
done
if [ -z "$ready" ]; then
    echo "the component did not become ready; its log:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
echo "component ready: $(curl -fsS "$http"/health/ready)"

dotnet run -c Release --no-build --project ejabberd-test/Demo -- "$server"

echo
echo "### /metrics excerpt"
curl -fsS "$http"/metrics | grep -E '^(mod_event_pusher_rabbit_(connections_active|messages_published_total|messages_failed_total|message_payload_size_bytes_count)|xmpp_component_events_produced_total|xmpp_component_stream_up)' || true
echo
echo "### component log (state changes)"
grep -F 'XmppRabbitComponent.' "$log" | head -n 20 || true
