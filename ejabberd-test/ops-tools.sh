#!/usr/bin/env bash
# Installs the tools the operations tests run, when missing (Debian packages):
#   prometheus  -> /usr/bin/prometheus (the private Prometheus that scrapes the component) and /usr/bin/promtool
#                  (`promtool check rules` / `promtool test rules` of deploy/prometheus/)
#   systemd     -> /usr/bin/systemd-analyze (`systemd-analyze verify` of deploy/systemd/)
# Package scripts are kept from starting services (policy-rc.d, see lib.sh). Called by run-tests.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
{ [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; } || missing+=(prometheus)
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
[ ${#missing[@]} -eq 0 ] && exit 0
xrc_apt_install "${missing[@]}"
[ -x /usr/bin/promtool ] || xrc_die "promtool still missing after installing prometheus"
[ -x /usr/bin/systemd-analyze ] || xrc_die "systemd-analyze still missing after installing systemd"
