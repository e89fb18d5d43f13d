#!/usr/bin/env bash
# Throughput benchmark against the private RabbitMQ ; see BENCHMARKS.md.
#
#   ejabberd-test/bench.sh [--mode e2e|stages|latency|soak|all|pipeline|engine] [--events N] [--reps N] [--quick] [--r2r] ...
#
# --r2r: the component process runs a ReadyToRun build (dotnet publish -p:PublishReadyToRun=true) instead of the
# plain Release build. Every other flag goes to Component.Benchmarks (see the top of its Program.cs, BENCHMARKS.md).
#
# Uses the broker on 127.0.0.1:${XRC_RABBIT_PORT:-5673} when it is already up (whoever started it; it is left
# running). Otherwise starts `rabbitmq.sh start main` and stops it again at the end.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(cd "$XRC_TEST_DIR/.." && pwd -P)"
PORT=${XRC_RABBIT_PORT:-5673}

started=0
if ! xrc_port_open 127.0.0.1 "$PORT"; then
    "$XRC_TEST_DIR/rabbitmq.sh" start main
    started=1
fi
cleanup() { [ "$started" = 1 ] && "$XRC_TEST_DIR/rabbitmq.sh" stop main || true; }
trap cleanup EXIT

args=()
r2r=0
for a in "$@"; do
    if [ "$a" = --r2r ]; then r2r=1; else args+=("$a"); fi
done
# The e2e, latency and soak modes start the built component as a separate process.
dotnet build -c Release "$ROOT/Component" -v quiet -nologo >/dev/null
if [ "$r2r" = 1 ]; then
    out="$ROOT/Component/bin/bench-r2r"
    dotnet publish "$ROOT/Component" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o "$out" -v quiet -nologo >/dev/null
    args+=(--component-dll "$out/XmppRabbitComponent.dll")
fi
dotnet run -c Release --project "$ROOT/Component.Benchmarks" -- --port "$PORT" "${args[@]}"
