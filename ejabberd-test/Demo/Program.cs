// The demo's scripted conversation: real users on the private ejabberd or Prosody (first argument:
// `ejabberd`, the default, or `prosody`), and a RabbitMQ consumer bound to the three exchanges printing
// every event as it arrives. Run through ejabberd-test/demo.sh, which starts the servers and the
// component first.
using XmppRabbitComponent.Tests.Integration;

var kind = args.Length > 0 && args[0].Equals("prosody", StringComparison.OrdinalIgnoreCase) ? XmppServerKind.Prosody : XmppServerKind.Ejabberd;
var servers = XmppTestServers.For(kind);
Console.WriteLine($"users on {servers.XmppServerName} (c2s {servers.XmppHost}:{servers.C2sPort})");
var missing = await servers.MissingAsync();
if (missing.Count > 0)
{
    Console.Error.WriteLine($"not reachable: {string.Join(", ", missing)}; start them with ejabberd-test/servers.sh start");
    return 1;
}

await using var consumer = await TestEventConsumer.StartDefaultAsync(servers);
var printed = 0;

async Task Step(string what, Func<Task> action)
{
    Console.WriteLine();
    Console.WriteLine($"### {what}");
    await action();
    foreach (var e in await consumer.DrainAsync(TimeSpan.FromSeconds(1.5)))
    {
        printed++;
        Console.WriteLine($"  -> exchange={e.Exchange,-14} routing_key={e.RoutingKey,-40} {e.Body}");
    }
}

TestXmppClient? alice = null, bob = null;
var room = $"demo-{DateTime.UtcNow:HHmmss}@{servers.MucDomain}";
await Step("alice logs in (resource 'laptop') and sends presence", async () =>
{
    alice = await TestXmppClient.ConnectAsync(servers, "alice", "laptop");
    await alice.SendPresenceAsync();
});
await Step("bob logs in (resource 'phone') and sends presence", async () =>
{
    bob = await TestXmppClient.ConnectAsync(servers, "bob", "phone");
    await bob.SendPresenceAsync();
});
await Step("alice -> bob@localhost (bare JID): chat 'Hello, Bob'", () => alice!.SendMessageAsync("bob@localhost", "chat", "Hello, Bob"));
await Step("bob -> alice@localhost/laptop (full JID): chat 'Hi Alice 👋'", () => bob!.SendMessageAsync("alice@localhost/laptop", "chat", "Hi Alice 👋"));
await Step("alice -> bob: chat state 'composing' only (no body: nothing)", () =>
    alice!.SendMessageAsync("bob@localhost", "chat", null, extra: [new System.Xml.Linq.XElement(System.Xml.Linq.XName.Get("composing", "http://jabber.org/protocol/chatstates"))]));
await Step($"alice and bob join {room} (joining a room is not going online: nothing)", async () =>
{
    await alice!.JoinRoomAsync(room, "alice");
    await bob!.JoinRoomAsync(room, "bob");
});
await Step("bob -> room: groupchat 'Hi, Everyone!'", () => bob!.SendMessageAsync(room, "groupchat", "Hi, Everyone!"));
await Step("alice sets show=away (not a presence change: nothing)", () => alice!.SendPresenceAsync(show: "away"));
await Step("alice logs out", () => alice!.LogoutAsync());
await Step("bob logs out", () => bob!.LogoutAsync());

Console.WriteLine();
Console.WriteLine($"{printed} events received.");
return printed > 0 ? 0 : 1;
