-- mod_events_guard: loaded on the event component's host (Component "events.example.com"), next to
-- mod_privilege. It filters what the user host sends the component before mod_component hands it on:
--
--   * while no component is connected, the copies that mod_firewall (events.pfw) addresses to
--     sent@HOST and received@HOST, and the users' available/unavailable presence (mod_privilege), are
--     dropped silently. Without this, mod_component answers each of them with an error, routed back
--     to the user whose message or presence it was;
--   * a received copy for a user of a local host who does not exist is dropped: Prosody bounces the
--     message, nobody received it (ejabberd publishes nothing either).
--
-- Everything else addressed to the component passes unchanged.

local jid = require "util.jid";
local usermanager = require "core.usermanager";
local hosts = prosody.hosts;

local copy_nodes = { sent = true, received = true };

-- mod_component keeps `connected` in its per-host environment.
local function component_connected()
	local component = hosts[module.host] and hosts[module.host].modules.component;
	return component ~= nil and component.connected == true;
end

local function is_local_host(host)
	return host ~= nil and hosts[host] ~= nil and hosts[host].type == "local";
end

local function filter_copy(event)
	local stanza = event.stanza;
	local node, host = jid.split(stanza.attr.to);
	if host ~= module.host or not copy_nodes[node] then return; end
	local from_node, from_host, from_resource = jid.split(stanza.attr.from);
	if from_node or from_resource or not is_local_host(from_host) then return; end

	if not component_connected() then
		return true; -- dropped: nobody to give it to, and no error bounce to the user
	end
	if node == "received" then
		local forwarded = stanza:get_child("forwarded", "urn:xmpp:forward:0");
		local inner = forwarded and forwarded.tags[1];
		local to_node, to_host = jid.split(inner and inner.attr.to);
		if to_node and is_local_host(to_host) and not usermanager.user_exists(to_node, to_host) then
			module:log("debug", "dropping received copy for non-existent user %s@%s", to_node, to_host);
			return true;
		end
	end
end

-- Presence of local users (privileged, or to the component's address) while no component is connected.
local function filter_presence(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= nil and stanza.attr.type ~= "unavailable" then return; end
	local _, from_host = jid.split(stanza.attr.from);
	if is_local_host(from_host) and not component_connected() then
		return true;
	end
end

module:hook("message/bare", filter_copy, 10);
module:hook("message/full", filter_copy, 10);
module:hook("presence/host", filter_presence, 10);
module:hook("presence/bare", filter_presence, 10);
module:hook("presence/full", filter_presence, 10);
