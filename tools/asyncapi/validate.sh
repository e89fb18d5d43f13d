#!/usr/bin/env bash
# Validates docs/asyncapi.yaml (and the JSON Schemas it references) with the AsyncAPI CLI pinned in
# package.json / package-lock.json next to this script. Exit status: 0 valid, non-zero otherwise
# (an error or a warning fails: --fail-severity warn).
#
# The CLI and its ~1,300 dependencies take a minute or two to install, so they are installed once per
# lock file into a cache outside the work tree (XRC_ASYNCAPI_CACHE, default ~/.cache/xmpp-rabbit-component),
# keyed by the lock file's SHA-256: later runs, fresh clones included, start in seconds.
# Installs Node.js and npm from Debian's packages when they are missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
DOC="${1:-$ROOT/docs/asyncapi.yaml}"

if ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs and npm (missing)" >&2
    run_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    run_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    run_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi

key="$(sha256sum "$HERE/package-lock.json" | cut -c1-16)"
cache="${XRC_ASYNCAPI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xmpp-rabbit-component}/asyncapi-$key"
cli="$cache/node_modules/.bin/asyncapi"
if [ ! -f "$cache/.complete" ] || [ ! -x "$cli" ]; then
    echo "installing the AsyncAPI CLI into $cache (once per package-lock.json)" >&2
    rm -rf "$cache"
    mkdir -p "$cache"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$cache/"
    start=$(date +%s)
    (cd "$cache" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
    touch "$cache/.complete"
    echo "AsyncAPI CLI installed in $(( $(date +%s) - start )) s" >&2
fi

# The CLI sends usage metrics unless told not to: CI=true and a settings file with analytics off keep it
# from calling out (and from writing into the home directory).
metrics="$cache/analytics.json"
[ -f "$metrics" ] || printf '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"ci"}\n' >"$metrics"
CI=true ASYNCAPI_METRICS_CONFIG_PATH="$metrics" SUPPRESS_NO_CONFIG_WARNING=1 \
    "$cli" validate "$DOC" --fail-severity warn
