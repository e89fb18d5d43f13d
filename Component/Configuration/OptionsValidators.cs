using Microsoft.Extensions.Options;
using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Configuration;

/// <summary>Validates <see cref="XmppOptions"/> at start-up; each failure names the configuration key.</summary>
public sealed class XmppOptionsValidator : IValidateOptions<XmppOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, XmppOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Host)) errors.Add("Xmpp:Host must be a non-empty host name");
        if (o.Port is < 1 or > 65535) errors.Add($"Xmpp:Port must be 1-65535, got {o.Port}");
        if (string.IsNullOrWhiteSpace(o.ComponentDomain)) errors.Add("Xmpp:ComponentDomain is required (the component's domain, e.g. events.localhost)");
        else if (!Jid.TryParse(o.ComponentDomain, out var d) || !d.IsDomain) errors.Add($"Xmpp:ComponentDomain '{o.ComponentDomain}' is not a domain");
        if (string.IsNullOrEmpty(o.Secret)) errors.Add("Xmpp:Secret is required (the component password configured on the XMPP server)");
        for (var i = 0; i < o.LocalDomains.Count; i++)
        {
            if (!Jid.TryParse(o.LocalDomains[i], out var ld) || !ld.IsDomain)
                errors.Add($"Xmpp:LocalDomains:{i} '{o.LocalDomains[i]}' is not a domain");
            else if (string.Equals(ld.Domain, o.ComponentDomain.Trim(), StringComparison.OrdinalIgnoreCase))
                errors.Add($"Xmpp:LocalDomains:{i} must not be the component's own domain");
        }
        if (o.MaxStanzaSize < 1024) errors.Add($"Xmpp:MaxStanzaSize must be at least 1024 bytes, got {o.MaxStanzaSize}");
        if (o.MaxDepth is < 4 or > 1000) errors.Add($"Xmpp:MaxDepth must be 4-1000, got {o.MaxDepth}");
        if (o.MaxAttributes is < 8 or > 10_000) errors.Add($"Xmpp:MaxAttributes must be 8-10000, got {o.MaxAttributes}");
        Positive(errors, "Xmpp:ConnectTimeout", o.ConnectTimeout);
        Positive(errors, "Xmpp:KeepaliveInterval", o.KeepaliveInterval);
        Positive(errors, "Xmpp:ReadTimeout", o.ReadTimeout);
        Positive(errors, "Xmpp:ReconnectMinDelay", o.ReconnectMinDelay);
        Positive(errors, "Xmpp:AuthFailureDelay", o.AuthFailureDelay);
        if (o.ReconnectMaxDelay < o.ReconnectMinDelay) errors.Add("Xmpp:ReconnectMaxDelay must not be less than Xmpp:ReconnectMinDelay");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) errors.Add($"{key} must be a positive time span (hh:mm:ss), got {value}");
    }
}

/// <summary>Validates <see cref="RabbitOptions"/> at start-up; each failure names the configuration key.</summary>
public sealed class RabbitOptionsValidator : IValidateOptions<RabbitOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RabbitOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.Host) && o.Hosts.Count == 0) errors.Add("Rabbit:Host must be non-empty");
        for (var i = 0; i < o.Hosts.Count; i++)
            if (string.IsNullOrWhiteSpace(o.Hosts[i])) errors.Add($"Rabbit:Hosts:{i} must be non-empty");
        if (o.Port is < 1 or > 65535) errors.Add($"Rabbit:Port must be 1-65535, got {o.Port}");
        if (string.IsNullOrEmpty(o.Username)) errors.Add("Rabbit:Username must be non-empty");
        if (string.IsNullOrEmpty(o.Password)) errors.Add("Rabbit:Password must be non-empty");
        if (string.IsNullOrEmpty(o.VirtualHost)) errors.Add("Rabbit:VirtualHost must be non-empty");
        if (o.Workers is < 1 or > 1000) errors.Add($"Rabbit:Workers must be 1-1000, got {o.Workers}");
        try { o.ParsedStrategy(); } catch (FormatException e) { errors.Add(e.Message); }
        try { o.ParsedBufferFullPolicy(); } catch (FormatException e) { errors.Add(e.Message); }
        XmppOptionsValidator.Positive(errors, "Rabbit:ConfirmTimeout", o.ConfirmTimeout);
        XmppOptionsValidator.Positive(errors, "Rabbit:ConnectTimeout", o.ConnectTimeout);
        XmppOptionsValidator.Positive(errors, "Rabbit:ReconnectMinDelay", o.ReconnectMinDelay);
        XmppOptionsValidator.Positive(errors, "Rabbit:ShutdownTimeout", o.ShutdownTimeout);
        XmppOptionsValidator.Positive(errors, "Rabbit:StallTimeout", o.StallTimeout);
        if (o.ReconnectMaxDelay < o.ReconnectMinDelay) errors.Add("Rabbit:ReconnectMaxDelay must not be less than Rabbit:ReconnectMinDelay");
        if (o.MaxInFlightPerWorker is < 1 or > 65_535) errors.Add($"Rabbit:MaxInFlightPerWorker must be 1-65535, got {o.MaxInFlightPerWorker}");
        if (o.MaxNacksPerEvent < 1) errors.Add($"Rabbit:MaxNacksPerEvent must be at least 1, got {o.MaxNacksPerEvent}");
        if (o.MaxBufferedEvents < 1) errors.Add($"Rabbit:MaxBufferedEvents must be at least 1, got {o.MaxBufferedEvents}");
        if (o.MaxWorkerQueueLen < 0) errors.Add($"Rabbit:MaxWorkerQueueLen must be 0 (unset) or positive, got {o.MaxWorkerQueueLen}");
        if (string.IsNullOrEmpty(o.AppId)) errors.Add("Rabbit:AppId must be non-empty");
        if (o.Tls.Enabled && o.Tls.CaCertificatePath is { } ca && !File.Exists(ca)) errors.Add($"Rabbit:Tls:CaCertificatePath: file '{ca}' does not exist");
        if (o.Tls.Enabled && o.Tls.ClientCertificatePath is { } cc && !File.Exists(cc)) errors.Add($"Rabbit:Tls:ClientCertificatePath: file '{cc}' does not exist");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="EventPusherOptions"/>: every string non-empty (seed), sane window and table bound.</summary>
public sealed class EventPusherOptionsValidator : IValidateOptions<EventPusherOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EventPusherOptions o)
    {
        var errors = new List<string>();
        Exchange(errors, "EventPusher:Rabbit:PresenceExchange", o.Rabbit.PresenceExchange, topics: false);
        Exchange(errors, "EventPusher:Rabbit:ChatMsgExchange", o.Rabbit.ChatMsgExchange, topics: true);
        Exchange(errors, "EventPusher:Rabbit:GroupchatMsgExchange", o.Rabbit.GroupchatMsgExchange, topics: true);
        var names = o.Rabbit.Enabled().GroupBy(e => e.Exchange.Name).Where(g => g.Count() > 1);
        foreach (var g in names)
        {
            var first = g.First().Exchange;
            if (g.Any(e => e.Exchange.Type != first.Type || e.Exchange.Durable != first.Durable))
                errors.Add($"{string.Join(" and ", g.Select(e => e.Key + ":Name"))} name the same exchange '{g.Key}' with different Type or Durable");
        }
        XmppOptionsValidator.Positive(errors, "EventPusher:CopyMatchWindow", o.CopyMatchWindow);
        if (o.MaxTrackedPresences < 1) errors.Add($"EventPusher:MaxTrackedPresences must be at least 1, got {o.MaxTrackedPresences}");
        try { o.ParsedFormat(); } catch (FormatException e) { errors.Add(e.Message); }
        if (o.CloudEvents.TypePrefix is null || o.CloudEvents.TypePrefix.Any(char.IsControl) || o.CloudEvents.TypePrefix.Any(char.IsWhiteSpace))
            errors.Add("EventPusher:CloudEvents:TypePrefix must not contain whitespace or control characters");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Exchange(List<string> errors, string key, ExchangeOptions e, bool topics)
    {
        if (!e.Enabled) return;
        if (string.IsNullOrWhiteSpace(e.Name)) errors.Add($"{key}:Name must be a non-empty string");
        if (string.IsNullOrWhiteSpace(e.Type)) errors.Add($"{key}:Type must be a non-empty string");
        if (!topics) return;
        if (string.IsNullOrWhiteSpace(e.SentTopic)) errors.Add($"{key}:SentTopic must be a non-empty string");
        if (string.IsNullOrWhiteSpace(e.RecvTopic)) errors.Add($"{key}:RecvTopic must be a non-empty string");
    }
}
