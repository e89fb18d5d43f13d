namespace XmppRabbitComponent.Hosting;

/// <summary>
/// Live connection state shared by the XMPP service, the publisher and the readiness check (docs/publishing.md, "Health"). Thread-safe: written by one loop each, read by anyone.
/// </summary>
public sealed class ComponentState
{
    private volatile bool _xmppAuthenticated;
    private readonly TaskCompletionSource _firstAuthenticated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>True while the XEP-0114 stream is authenticated.</summary>
    public bool XmppAuthenticated
    {
        get => _xmppAuthenticated;
        set
        {
            _xmppAuthenticated = value;
            if (value) _firstAuthenticated.TrySetResult();
        }
    }

    /// <summary>Completes when the stream has been authenticated once (tests and the demo wait on it).</summary>
    public Task FirstAuthenticated => _firstAuthenticated.Task;
}
