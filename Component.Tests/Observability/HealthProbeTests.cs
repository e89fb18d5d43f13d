using System.Net;
using System.Net.Sockets;
using System.Text;
using XmppRabbitComponent.Hosting;

namespace XmppRabbitComponent.Tests.Observability;

/// <summary><c>--health-check</c>: which URL it asks for a <c>Urls</c> value, and its exit code for each answer.</summary>
[CancelAfter(30_000)]
public class HealthProbeTests
{
    [TestCase(null, "http://127.0.0.1:9464/health/ready")]
    [TestCase("", "http://127.0.0.1:9464/health/ready")]
    [TestCase("http://0.0.0.0:8080", "http://127.0.0.1:8080/health/ready")]
    [TestCase("http://*:8080", "http://127.0.0.1:8080/health/ready")]
    [TestCase("http://+:8080;http://10.0.0.1:9000", "http://127.0.0.1:8080/health/ready")]
    [TestCase("http://[::]:8080", "http://127.0.0.1:8080/health/ready")]
    [TestCase("http://[::1]:8080", "http://[::1]:8080/health/ready")]
    [TestCase("http://component.internal:9464/", "http://component.internal:9464/health/ready")]
    public void ReadyUrl_is_the_first_listen_address_with_wildcards_made_loopback(string? urls, string expected) =>
        Assert.That(HealthProbe.ReadyUrl(urls).ToString(), Is.EqualTo(expected));

    [Test]
    public void A_Urls_entry_without_scheme_is_a_clear_error() =>
        Assert.That(() => HealthProbe.ReadyUrl("127.0.0.1:9464"), Throws.TypeOf<FormatException>().With.Message.Contains("no scheme"));

    [TestCase(200, 0)]
    [TestCase(503, 1)]
    public async Task Exit_code_follows_the_answer(int status, int exitCode)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = AnswerOnceAsync(listener, status);
        Assert.That(await HealthProbe.RunAsync([$"--Urls=http://127.0.0.1:{port}"]), Is.EqualTo(exitCode));
        Assert.That(await server, Does.StartWith("GET /health/ready "));
    }

    [Test]
    public async Task Nothing_listening_is_not_ready()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Assert.That(await HealthProbe.RunAsync([$"--Urls=http://127.0.0.1:{port}"]), Is.EqualTo(1));
    }

    private static async Task<string> AnswerOnceAsync(TcpListener listener, int status)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var request = new StringBuilder();
        var buffer = new byte[4096];
        while (!request.ToString().Contains("\r\n\r\n"))
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0) break;
            request.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        const string body = "{\"status\":\"x\"}";
        var response = $"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
        return request.ToString();
    }
}
