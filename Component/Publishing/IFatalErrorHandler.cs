namespace XmppRabbitComponent.Publishing;

/// <summary>
/// Told about a configuration error the publisher found after start-up and that retrying cannot fix (an exchange
/// that exists with other parameters, a declaration the broker refuses). Hosting implements it: what the process
/// does then (exit code, stop) is not the publisher's decision (<c>docs/publishing.md</c>, "Start-up and fatal errors").
/// </summary>
public interface IFatalErrorHandler
{
    /// <summary>Called once, from a background loop, with an <see cref="ExchangeMismatchException"/> or <see cref="ExchangeDeclareException"/>; already logged as critical.</summary>
    void OnFatalError(Exception error);
}
