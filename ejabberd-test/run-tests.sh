#!/usr/bin/env bash
# The one test command, shared by README and CI: start the private servers
# (installing them when missing), export their connection facts, then run
#   dotnet test XmppRabbitComponent.sln "$@"
# Process servers stay up afterwards (stop them with ejabberd-test/servers.sh stop); containers are removed.
#
# Example:
#   ejabberd-test/run-tests.sh -c Release --logger "trx;LogFileName=results.trx" --results-directory TestResults
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/.." && pwd -P)"

"$HERE/ops-tools.sh"   # prometheus/promtool and systemd-analyze for the operations tests

# Which back end runs the servers (XRC_TEST_SERVERS=processes|containers|auto; auto = containers when a
# Docker engine answers): processes are started here; containers are started by the tests (Testcontainers)
# from the images of containers/build-images.sh, built here (cached) first.
mode=${XRC_TEST_SERVERS:-${XRC_SERVERS:-auto}}
if [ "$mode" = auto ]; then
    if timeout 10 docker version >/dev/null 2>&1; then mode=containers; else mode=processes; fi
fi
if [ "$mode" = containers ]; then
    "$ROOT/containers/build-images.sh" servers
else
    "$HERE/servers.sh" start
    set -a
    # shellcheck source=/dev/null
    . "$HERE/.run/servers.env"
    set +a
fi
export XRC_TEST_SERVERS=$mode

cd "$ROOT"
exec dotnet test XmppRabbitComponent.sln "$@"
