#!/bin/bash
# Entry point of the Prosody test image: prosody-test/prosody.sh starts the server (rendering the configuration
# from the environment), this script stays in the foreground while it runs, and SIGTERM (docker stop) stops it
# cleanly through the same script.
set -eu
ctl=/opt/xrc/prosody-test/prosody.sh
"$ctl" start
pid=$(cat /opt/xrc/prosody-test/.run/prosody/server.pid)
trap '"$ctl" stop; exit 0' TERM INT
while kill -0 "$pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
echo "prosody (pid $pid) exited; its log:" >&2
tail -n 30 /opt/xrc/prosody-test/.run/prosody/prosody.log >&2 || true
exit 1
