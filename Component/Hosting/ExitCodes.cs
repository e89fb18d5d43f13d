using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Hosting;

/// <summary>The process exit codes (sysexits.h where one fits).</summary>
public static class ExitCodes
{
    /// <summary>0: stopped on request.</summary>
    public const int Ok = 0;
    /// <summary>2: the configuration is invalid (keys named on stderr).</summary>
    public const int InvalidConfiguration = 2;
    /// <summary>78 (EX_CONFIG): the broker's exchanges contradict the configuration (<see cref="ExchangeMismatchException"/>, <see cref="ExchangeDeclareException"/>).</summary>
    public const int BrokerConfiguration = 78;
}

/// <summary>
/// What the process does on a fatal publisher error after start-up: exit code <see cref="ExitCodes.BrokerConfiguration"/>
/// and a graceful stop of the host (the XMPP stream is closed, what is buffered is published if the broker still takes it).
/// </summary>
public sealed class StopOnFatalError(IHostApplicationLifetime lifetime) : IFatalErrorHandler
{
    /// <inheritdoc />
    public void OnFatalError(Exception error)
    {
        Environment.ExitCode = ExitCodes.BrokerConfiguration;
        lifetime.StopApplication();
    }
}
