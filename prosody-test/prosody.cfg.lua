-- Private Prosody 0.12 for the tests and the demo, rendered by prosody-test/prosody.sh into
-- prosody-test/.run/prosody/etc/prosody.cfg.lua (@NAME@ placeholders). Loopback only, no TLS, no s2s.
--
-- What the component needs from Prosody (the README's "Attaching it to Prosody" explains each piece):
--   * a component listener and a Component section with the shared secret (XEP-0114);
--   * mod_firewall on the user host, with events.pfw: a copy of every message a local user sends
--     (to sent@COMPONENT) and of every message delivered to a local user (to received@COMPONENT);
--   * mod_privilege (XEP-0356) on the user host AND on the component: the presence of every user,
--     including the unavailable that Prosody sends when a session dies;
--   * (optional) mod_events_guard on the component: drops the copies while no component is connected
--     (users would get error bounces for their messages) and received copies for local users who do
--     not exist.

-- The tests run as root (CI); Prosody refuses that unless told.
run_as_root = true
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
plugin_paths = { "@TEST_DIR@" } -- mod_events_guard; Debian's modules (with prosody-modules') stay on the path
log = {
    { levels = { min = "@LOG_LEVEL@" }, to = "file", filename = "@DIR@/prosody.log" };
}

interfaces = { "@INTERFACE@" } -- 127.0.0.1; 0.0.0.0 in the container image
c2s_ports = { @C2S_PORT@ }
component_ports = { @COMPONENT_PORT@ }
component_interfaces = { "@INTERFACE@" }
-- No s2s, no HTTP, no direct TLS: nothing but the two ports above is opened.
s2s_ports = { }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
modules_disabled = { "s2s" }

-- Test users log in with SASL PLAIN over plain TCP on loopback (the same client as for ejabberd).
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"

modules_enabled = {
    "roster"; "saslauth"; "disco"; "ping"; "carbons";
}

VirtualHost "localhost"
    modules_enabled = { "firewall"; "privilege" }
    firewall_scripts = { "@DIR@/etc/events.pfw" }
    -- XEP-0356 presence permission: the component gets every user's presence (privileged presence).
    privileged_entities = {
        ["@COMPONENT_DOMAIN@"] = { presence = "managed_entity" };
    }

Component "muc.localhost" "muc"
    restrict_room_creation = false

Component "@COMPONENT_DOMAIN@"
    component_secret = "@COMPONENT_SECRET@"
    -- "privilege" here too, or Prosody never sends the privileged presence (nor the replay on connect).
    modules_enabled = { "privilege"; "events_guard" }
