namespace XmppRabbitComponent.HighAvailability;

/// <summary>The role of one instance, as the metric, the readiness body and the logs report it.</summary>
public enum InstanceRole
{
    /// <summary>Does not hold the lease and has no XMPP stream; takes over when the lease is free.</summary>
    Standby,
    /// <summary>Holds the lease (or held it when the broker went away and keeps its stream meanwhile).</summary>
    Active,
}

/// <summary>The election's states (<c>docs/high-availability.md</c>, "Rules").</summary>
public enum LeaseState
{
    /// <summary>No lease: no XMPP stream may be opened.</summary>
    Standby,
    /// <summary>The lease is held on an open broker connection: the XMPP stream may be opened and kept.</summary>
    Active,
    /// <summary>
    /// Was active and lost its lease connection (broker outage): the XMPP stream it has is kept, no new one is opened
    /// until the lease is taken again; refused on reconnect means another instance took it, and the stream is closed.
    /// </summary>
    ActiveBrokerLost,
    /// <summary>The instance is stopping: no stream, the lease is released.</summary>
    Stopped,
}

/// <summary>What the election must do after a transition.</summary>
/// <param name="From">State before.</param>
/// <param name="To">State after.</param>
/// <param name="Reason">Why, for the log line (e.g. <c>lease acquired</c>).</param>
/// <param name="CloseStream">True when the XMPP stream must be closed now (the lease went to another instance, or stop).</param>
public readonly record struct RoleTransition(LeaseState From, LeaseState To, string Reason, bool CloseStream)
{
    /// <summary>True when the state changed.</summary>
    public bool Changed => From != To;
}

/// <summary>
/// The election's role rules as a pure state machine (no I/O, no clock): the lease loop feeds it what the broker said,
/// it answers with the new state and whether the stream must close. Not thread-safe: one loop owns it.
/// </summary>
public sealed class RoleStateMachine
{
    /// <summary>The current state; <see cref="LeaseState.Standby"/> at start.</summary>
    public LeaseState State { get; private set; } = LeaseState.Standby;

    /// <summary>The role reported outside: <see cref="InstanceRole.Active"/> in <see cref="LeaseState.Active"/> and <see cref="LeaseState.ActiveBrokerLost"/>.</summary>
    public InstanceRole Role => State is LeaseState.Active or LeaseState.ActiveBrokerLost ? InstanceRole.Active : InstanceRole.Standby;

    /// <summary>True when a new XMPP stream may be opened: only with the lease held on a live broker connection.</summary>
    public bool MayOpenStream => State == LeaseState.Active;

    /// <summary>The broker granted the lease (the exclusive queue was declared by this instance's connection).</summary>
    public RoleTransition LeaseAcquired() => State switch
    {
        LeaseState.Standby => Move(LeaseState.Active, "lease acquired", false),
        LeaseState.ActiveBrokerLost => Move(LeaseState.Active, "lease re-acquired after the broker connection came back", false),
        _ => Stay("lease acquired"),
    };

    /// <summary>The broker refused the lease: another instance holds it (405 RESOURCE_LOCKED).</summary>
    public RoleTransition LeaseRefused() => State switch
    {
        LeaseState.ActiveBrokerLost => Move(LeaseState.Standby, "another instance took the lease while the broker connection was down; closing the XMPP stream", true),
        // Cannot happen while the lease is held on this connection (the broker never refuses its owner); be safe anyway.
        LeaseState.Active => Move(LeaseState.Standby, "the broker refused the lease this instance held; closing the XMPP stream", true),
        _ => Stay("lease held by another instance"),
    };

    /// <summary>The lease connection to the broker closed (broker outage, node failure, missed heartbeats).</summary>
    public RoleTransition ConnectionLost() => State switch
    {
        LeaseState.Active => Move(LeaseState.ActiveBrokerLost, "lease connection to the broker lost; keeping the XMPP stream until the lease is taken again", false),
        _ => Stay("lease connection lost"),
    };

    /// <summary>The instance is stopping: the stream closes (the hosting does it first), the lease is released last.</summary>
    public RoleTransition Stop() => State == LeaseState.Stopped ? Stay("stopped") : Move(LeaseState.Stopped, "stopping: lease released", State != LeaseState.Standby);

    private RoleTransition Move(LeaseState to, string reason, bool close)
    {
        var t = new RoleTransition(State, to, reason, close);
        State = to;
        return t;
    }

    private RoleTransition Stay(string reason) => new(State, State, reason, false);
}
