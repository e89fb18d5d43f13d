#!/usr/bin/env bash
# The container stages of CI (called by .ci/run after the process-server run):
#   1. a Docker engine (containers/engine.sh start: installs docker.io, starts dockerd)
#   2. the images (containers/build-images.sh all: base, RabbitMQ, ejabberd, component; cached)
#   3. the whole integration suite against containers started by Testcontainers (XRC_TEST_SERVERS=containers),
#      TRX in RESULTS_DIR/containers/
#   4. the component image on its own (containers/component-test.sh)
#   5. the compose deployment with a scripted conversation (containers/compose-test.sh)
# and always stops the engine it started (with --purge under CI=true). Prints the time of each stage.
#
#   containers/ci.sh RESULTS_DIR [dotnet test args...]
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RESULTS=${1:?usage: containers/ci.sh RESULTS_DIR [dotnet test args...]}
shift

purge=
[ "${CI:-}" = true ] && purge=--purge
trap '"$XRC_CONTAINERS_DIR/engine.sh" stop $purge' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=()
timings=()
stage() { # stage NAME COMMAND...
    local name=$1 t0=$SECONDS rc=0
    shift
    echo "=== containers: $name"
    "$@" || rc=$?
    timings+=("$name $((SECONDS - t0)) s$([ $rc -eq 0 ] || echo " (FAILED, exit $rc)")")
    [ $rc -eq 0 ] || failed+=("$name")
    return $rc
}

integration() {
    mkdir -p "$RESULTS/containers"
    XRC_TEST_SERVERS=containers timeout --kill-after=60s 30m \
        dotnet test "$XRC_ROOT/XmppRabbitComponent.sln" -c Release --filter "TestCategory=Integration" \
        --logger "trx;LogFileName=containers.trx" --results-directory "$RESULTS/containers" "$@"
    local rc=$?
    # Which back end ran, and the containers it started (the tests' own lines, kept in the TRX).
    find "$RESULTS/containers" -name '*.trx' -exec grep -ho 'servers: [^&<]*' {} + 2>/dev/null | sort -u
    return $rc
}

if stage "engine" "$XRC_CONTAINERS_DIR/engine.sh" start \
    && stage "images" "$XRC_CONTAINERS_DIR/build-images.sh" all; then
    stage "integration suite on Testcontainers" integration "$@"
    stage "component image" "$XRC_CONTAINERS_DIR/component-test.sh"
    stage "compose" "$XRC_CONTAINERS_DIR/compose-test.sh"
fi

echo "=== containers: stage times"
printf '  %s\n' "${timings[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "ERROR: container stages failed: ${failed[*]}" >&2
    exit 1
fi
