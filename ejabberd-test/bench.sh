#!/usr/bin/env bash
# Throughput benchmark against the private RabbitMQ ; see BENCHMARKS.md.
#
#   ejabberd-test/bench.sh [--mode pipeline|engine|all] [--events N] [--reps N] [--quick]
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

dotnet run -c Release --project "$ROOT/Component.Benchmarks" -- --port "$PORT" "$@"
