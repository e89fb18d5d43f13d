namespace XmppRabbitComponent.Configuration;

/// <summary>How an event picks the publishing worker (docs/publishing.md, "Ordering"; seed "Worker selection strategy").</summary>
public enum WorkerStrategy
{
    /// <summary>The user's bare JID picks the worker: one user's events reach the broker in order. Default.</summary>
    UserHash,
    /// <summary>The least-loaded worker (shortest queue), as the seed's default. No per-user order.</summary>
    BestWorker,
    /// <summary>One shared queue that every worker takes from. No per-user order.</summary>
    AvailableWorker,
}

/// <summary>What happens when <see cref="RabbitOptions.MaxBufferedEvents"/> events are waiting (docs/publishing.md, "Buffer").</summary>
public enum BufferFullPolicy
{
    /// <summary>Stop reading the XMPP stream until there is room: the XMPP server buffers. Nothing is dropped. Default.</summary>
    Backpressure,
    /// <summary>Drop the oldest waiting event (the seed's behaviour), counted in <c>events_dropped{reason="buffer_full"}</c>.</summary>
    DropOldest,
}

/// <summary>TLS to the broker (<c>Rabbit:Tls</c>).</summary>
public sealed class RabbitTlsOptions
{
    /// <summary><c>Rabbit:Tls:Enabled</c>: connect with <c>amqps</c>. Default false.</summary>
    public bool Enabled { get; set; }
    /// <summary><c>Rabbit:Tls:ServerName</c>: name checked against the broker certificate; default the host connected to.</summary>
    public string? ServerName { get; set; }
    /// <summary><c>Rabbit:Tls:CaCertificatePath</c>: PEM file of the CA that signed the broker certificate; default the system store.</summary>
    public string? CaCertificatePath { get; set; }
    /// <summary><c>Rabbit:Tls:ClientCertificatePath</c>: PKCS#12 or PEM client certificate for mutual TLS.</summary>
    public string? ClientCertificatePath { get; set; }
    /// <summary><c>Rabbit:Tls:ClientCertificatePassword</c>: password of the client certificate; never logged.</summary>
    public string? ClientCertificatePassword { get; set; }
    /// <summary><c>Rabbit:Tls:ClientCertificatePasswordFile</c>: file holding <see cref="ClientCertificatePassword"/> (trailing newline trimmed).</summary>
    public string? ClientCertificatePasswordFile { get; set; }
    /// <summary><c>Rabbit:Tls:CheckServerName</c>: verify the certificate's name. Default true.</summary>
    public bool CheckServerName { get; set; } = true;
}

/// <summary>
/// The broker connection and publishing engine, bound from the <c>Rabbit</c> section (docs/publishing.md).
/// Defaults follow the outgoing <c>rabbit</c> pool of MongooseIM's <c>mod_event_pusher_rabbit</c>, except where docs/publishing.md says otherwise.
/// </summary>
public sealed class RabbitOptions
{
    /// <summary>Configuration section name: <c>Rabbit</c>.</summary>
    public const string Section = "Rabbit";

    /// <summary><c>Rabbit:Host</c>: broker host. Default <c>localhost</c>.</summary>
    public string Host { get; set; } = "localhost";
    /// <summary><c>Rabbit:Hosts</c>: several brokers of one cluster to fail over between (<c>host</c> or <c>host:port</c>); when set, used instead of <see cref="Host"/>.</summary>
    public List<string> Hosts { get; set; } = [];
    /// <summary><c>Rabbit:Port</c>: AMQP port. Default 5672.</summary>
    public int Port { get; set; } = 5672;
    /// <summary><c>Rabbit:Username</c>. Default <c>guest</c>.</summary>
    public string Username { get; set; } = "guest";
    /// <summary><c>Rabbit:Password</c>. Default <c>guest</c>; never logged.</summary>
    public string Password { get; set; } = "guest";
    /// <summary><c>Rabbit:PasswordFile</c>: file holding <see cref="Password"/> (trailing newline trimmed); an error together with <c>Rabbit:Password</c>.</summary>
    public string? PasswordFile { get; set; }
    /// <summary><c>Rabbit:VirtualHost</c>. Default <c>/</c>.</summary>
    public string VirtualHost { get; set; } = "/";

    /// <summary><c>Rabbit:Workers</c>: publishing channels in the pool. Default 10 (the seed's).</summary>
    public int Workers { get; set; } = 10;
    /// <summary><c>Rabbit:Strategy</c>: <c>user_hash</c> (default), <c>best_worker</c> or <c>available_worker</c>.</summary>
    public string Strategy { get; set; } = "user_hash";
    /// <summary><c>Rabbit:ConfirmsEnabled</c>: one-to-one publisher confirms. Default false (the seed's).</summary>
    public bool ConfirmsEnabled { get; set; }
    /// <summary><c>Rabbit:ConfirmTimeout</c>: an event not confirmed within this is counted as timed out and published again. Default 60 s (the seed's fixed wait).</summary>
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary><c>Rabbit:MaxInFlightPerWorker</c>: unconfirmed publishes per channel. Default 64.</summary>
    public int MaxInFlightPerWorker { get; set; } = 64;
    /// <summary><c>Rabbit:MaxNacksPerEvent</c>: an event nacked this many times is dropped (reason <c>nacked</c>) instead of published again, so one poison event cannot block its worker. Default 5.</summary>
    public int MaxNacksPerEvent { get; set; } = 5;
    /// <summary><c>Rabbit:MaxBufferedEvents</c>: events waiting in the component across all workers. Default 100,000.</summary>
    public int MaxBufferedEvents { get; set; } = 100_000;
    /// <summary><c>Rabbit:MaxWorkerQueueLen</c>: events waiting per worker (the seed's per-worker limit); 0 = only the global bound.</summary>
    public int MaxWorkerQueueLen { get; set; }
    /// <summary><c>Rabbit:BufferFullPolicy</c>: <c>backpressure</c> (default) or <c>drop_oldest</c>.</summary>
    public string BufferFullPolicy { get; set; } = "backpressure";
    /// <summary><c>Rabbit:Persistent</c>: AMQP delivery mode 2. Default true.</summary>
    public bool Persistent { get; set; } = true;
    /// <summary><c>Rabbit:Mandatory</c>: publish with the mandatory flag; returned messages are counted, not successes. Default false.</summary>
    public bool Mandatory { get; set; }
    /// <summary><c>Rabbit:AppId</c>: the <c>app_id</c> property. Default <c>xmpp-rabbit-component</c>.</summary>
    public string AppId { get; set; } = "xmpp-rabbit-component";
    /// <summary><c>Rabbit:ConnectTimeout</c>. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary><c>Rabbit:ReconnectMinDelay</c>: first reconnect delay; doubles with jitter. Default 500 ms.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);
    /// <summary><c>Rabbit:ReconnectMaxDelay</c>: cap of the reconnect delay. Default 15 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary><c>Rabbit:ShutdownTimeout</c>: time to publish and confirm what is buffered on SIGTERM. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary><c>Rabbit:StallTimeout</c>: when events are waiting and none has been published, returned or dropped for
    /// this long, the publisher counts as stalled and <c>/health/ready</c> fails (<c>docs/publishing.md</c>, "Supervision"). Default 60 s.</summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary><c>Rabbit:Tls</c>: TLS settings.</summary>
    public RabbitTlsOptions Tls { get; set; } = new();

    /// <summary>The parsed <see cref="Strategy"/>; throws <see cref="FormatException"/> naming the key on an unknown value.</summary>
    public WorkerStrategy ParsedStrategy() => Strategy.Trim().ToLowerInvariant() switch
    {
        "user_hash" => WorkerStrategy.UserHash,
        "best_worker" => WorkerStrategy.BestWorker,
        "available_worker" => WorkerStrategy.AvailableWorker,
        _ => throw new FormatException($"Rabbit:Strategy: '{Strategy}' is not one of user_hash, best_worker, available_worker"),
    };

    /// <summary>The parsed <see cref="BufferFullPolicy"/>; throws <see cref="FormatException"/> naming the key on an unknown value.</summary>
    public BufferFullPolicy ParsedBufferFullPolicy() => BufferFullPolicy.Trim().ToLowerInvariant() switch
    {
        "backpressure" => Configuration.BufferFullPolicy.Backpressure,
        "drop_oldest" => Configuration.BufferFullPolicy.DropOldest,
        _ => throw new FormatException($"Rabbit:BufferFullPolicy: '{BufferFullPolicy}' is not one of backpressure, drop_oldest"),
    };
}
