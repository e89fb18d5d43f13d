namespace XmppRabbitComponent.Tests.HighAvailability;

/// <summary>
/// Base of the fixtures that run the component as separate processes: what a test starts is tracked and disposed
/// after it, newest first; on failure each instance's log tail goes to the test output.
/// </summary>
public abstract class ProcessFixture
{
    private readonly List<IAsyncDisposable> _cleanup = [];

    [TearDown]
    public async Task CleanUp()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && _cleanup[i] is ComponentProcess p)
                TestContext.Out.WriteLine(p.Tail(60));
            try { await _cleanup[i].DisposeAsync(); }
            catch (Exception e) { TestContext.Out.WriteLine($"cleanup: {e.Message}"); }
        }
        _cleanup.Clear();
    }

    /// <summary>Disposes <paramref name="item"/> after the test.</summary>
    private protected T Track<T>(T item) where T : IAsyncDisposable { _cleanup.Add(item); return item; }
}
