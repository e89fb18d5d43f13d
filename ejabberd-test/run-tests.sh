#!/usr/bin/env bash
# The one test command, shared by README and CI: start the private servers
# (installing them when missing), export their connection facts, then run
#   dotnet test XmppRabbitComponent.sln "$@"
# Servers stay up afterwards (stop them with ejabberd-test/servers.sh stop).
#
# Example:
#   ejabberd-test/run-tests.sh -c Release --logger "trx;LogFileName=results.trx" --results-directory TestResults
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/.." && pwd -P)"

"$HERE/ops-tools.sh"   # prometheus/promtool and systemd-analyze for the operations tests
"$HERE/servers.sh" start
set -a
# shellcheck source=/dev/null
. "$HERE/.run/servers.env"
set +a

cd "$ROOT"
exec dotnet test XmppRabbitComponent.sln "$@"
