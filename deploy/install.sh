#!/usr/bin/env bash
# Publishes XmppRabbitComponent and installs it as a systemd service (docs/operating.md).
#
#   deploy/install.sh                 publish (Release) and install on this machine (as root)
#   DESTDIR=/tmp/root deploy/install.sh   stage the same layout under /tmp/root (for packages and tests:
#                                     no user is created, systemctl is not called)
#   PUBLISH_DIR=out deploy/install.sh     install an existing `dotnet publish` output instead of publishing
#   CONFIGURATION=Debug PUBLISH_FLAGS=--no-build deploy/install.sh   publish another configuration, or without building
#
# Layout:
#   /opt/xmpp-rabbit-component/                      the `dotnet publish` output (root-owned, read-only)
#   /etc/systemd/system/xmpp-rabbit-component.service
#   /etc/xmpp-rabbit-component/environment           settings as environment variables (created once)
#   /etc/xmpp-rabbit-component/xmpp-secret           the component secret (root, 0600; created empty once)
#   /etc/xmpp-rabbit-component/rabbit-password       the broker password (root, 0600; created empty once)
#   /etc/xmpp-rabbit-component/appsettings.json      settings as JSON (created as {} once); linked as appsettings.Production.json
#   /var/lib/xmpp-rabbit-component                   state directory (made by systemd)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/.." && pwd -P)"
DESTDIR=${DESTDIR:-}
APP="$DESTDIR/opt/xmpp-rabbit-component"
ETC="$DESTDIR/etc/xmpp-rabbit-component"
UNIT_DIR="$DESTDIR/etc/systemd/system"
USER_NAME=xmpp-rabbit

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or set DESTDIR to stage the layout)" >&2
    exit 1
fi

rm -rf "$APP"
mkdir -p "$APP"
if [ -n "${PUBLISH_DIR:-}" ]; then
    cp -a "$PUBLISH_DIR"/. "$APP"/
else
    # shellcheck disable=SC2086 # PUBLISH_FLAGS is a list of flags
    dotnet publish "$ROOT/Component/Component.csproj" -c "${CONFIGURATION:-Release}" ${PUBLISH_FLAGS:-} --nologo -v quiet -o "$APP"
fi
mkdir -p "$APP/docs"
cp "$ROOT"/docs/*.md "$APP/docs/" 2>/dev/null || true
# Relative, so that it resolves under DESTDIR too; the target is created below (a dangling link stops start-up).
ln -sfn ../../etc/xmpp-rabbit-component/appsettings.json "$APP/appsettings.Production.json"

# The unit runs /usr/bin/dotnet; point it at the dotnet of this machine when that is elsewhere.
install -D -m 0644 "$HERE/systemd/xmpp-rabbit-component.service" "$UNIT_DIR/xmpp-rabbit-component.service"
DOTNET=$(command -v dotnet || true)
if [ -n "$DOTNET" ] && [ "$DOTNET" != /usr/bin/dotnet ]; then
    sed -i "s|^ExecStart=/usr/bin/dotnet |ExecStart=$DOTNET |" "$UNIT_DIR/xmpp-rabbit-component.service"
fi

mkdir -p "$ETC"
chmod 0755 "$ETC"
if [ ! -e "$ETC/environment" ]; then
    cat > "$ETC/environment" <<'ENV'
# Settings of XmppRabbitComponent as environment variables (':' written as '__'); see docs/operating.md.
# The secret and the broker password are in xmpp-secret and rabbit-password beside this file.
#Xmpp__Host=xmpp.internal
#Xmpp__Port=5275
#Xmpp__ComponentDomain=events.example.com
#Rabbit__Host=rabbit.internal
#Rabbit__Username=events
#MongooseIM__ConfigFile=/etc/mongooseim/mongooseim.toml
ENV
    chmod 0644 "$ETC/environment"
fi
if [ ! -e "$ETC/appsettings.json" ]; then
    echo '{}' > "$ETC/appsettings.json"
    chmod 0644 "$ETC/appsettings.json"
fi
for secret in xmpp-secret rabbit-password; do
    if [ ! -e "$ETC/$secret" ]; then
        install -m 0600 /dev/null "$ETC/$secret"
    fi
done

if [ -n "$DESTDIR" ]; then
    echo "staged under $DESTDIR"
    exit 0
fi

if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/xmpp-rabbit-component --shell /usr/sbin/nologin "$USER_NAME"
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
cat <<MSG
installed: $APP, $UNIT_DIR/xmpp-rabbit-component.service, $ETC
next: put the component secret into $ETC/xmpp-secret and the broker password into $ETC/rabbit-password,
      set Xmpp__Host, Xmpp__ComponentDomain, Rabbit__Host ... in $ETC/environment (or name a mongooseim.toml),
      check:  sudo -u $USER_NAME env \$(grep -v '^#' $ETC/environment | xargs) $DOTNET $APP/XmppRabbitComponent.dll --check-config
      start:  systemctl enable --now xmpp-rabbit-component
MSG
