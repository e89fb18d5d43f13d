#!/bin/sh
# Entry point of the ejabberd test image.
#   xrc-ejabberd foreground   render /etc/ejabberd/ejabberd.yml from the template and the environment,
#                             run ejabberd; SIGTERM (docker stop) stops it cleanly
#   xrc-ejabberd seed         (image build) start once, register the test users and rosters, stop
set -eu
DOMAIN=localhost
USERS="alice bob carol dave bench1 bench2 bench3 bench4"
FRIENDS="alice bob carol"

render() {
    sed -e "s|@C2S_PORT@|5222|g" \
        -e "s|@COMPONENT_PORT@|5275|g" \
        -e "s|@COMPONENT_DOMAIN@|${COMPONENT_DOMAIN:-events.localhost}|g" \
        -e "s|@COMPONENT_SECRET@|${COMPONENT_SECRET:-secret}|g" \
        -e 's|ip: "127.0.0.1"|ip: "0.0.0.0"|' \
        /etc/ejabberd/ejabberd.yml.in >/etc/ejabberd/ejabberd.yml
}

case "${1:-foreground}" in
    seed)
        render
        ejabberdctl start
        ejabberdctl started
        for u in $USERS; do ejabberdctl register "$u" "$DOMAIN" password; done
        for a in $FRIENDS; do
            for b in $FRIENDS; do
                [ "$a" = "$b" ] || ejabberdctl add_rosteritem "$a" "$DOMAIN" "$b" "$DOMAIN" "$b" Friends both
            done
        done
        ejabberdctl stop
        ejabberdctl stopped
        ;;
    foreground)
        render
        # Left behind when the container was killed.
        rm -f /run/ejabberd/ejabberd.pid
        ejabberdctl foreground &
        pid=$!
        trap 'ejabberdctl stop >/dev/null 2>&1 || kill "$pid"' TERM INT
        # The first wait returns when the trap runs; the second waits for the node to end.
        wait "$pid" || true
        wait "$pid" 2>/dev/null || true
        ;;
    *) exec "$@" ;;
esac
