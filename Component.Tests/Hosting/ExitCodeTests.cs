using Microsoft.Extensions.Hosting;
using XmppRabbitComponent.Hosting;
using XmppRabbitComponent.Publishing;

namespace XmppRabbitComponent.Tests.Hosting;

/// <summary>Hosting, not the publisher, decides what a fatal broker configuration error does to the process (docs/publishing.md, "Start-up and fatal errors").</summary>
[NonParallelizable]
public class ExitCodeTests
{
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public int Stops;
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => Stops++;
    }

    [Test]
    public void A_fatal_publisher_error_after_start_up_stops_the_host_with_exit_code_78()
    {
        var before = Environment.ExitCode;
        try
        {
            var lifetime = new Lifetime();
            IFatalErrorHandler handler = new StopOnFatalError(lifetime);
            handler.OnFatalError(new ExchangeDeclareException("refused", new InvalidOperationException()));
            Assert.Multiple(() =>
            {
                Assert.That(Environment.ExitCode, Is.EqualTo(78));
                Assert.That(lifetime.Stops, Is.EqualTo(1));
            });
        }
        finally
        {
            Environment.ExitCode = before;
        }
    }
}
