using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace XmppRabbitComponent.Hosting;

/// <summary>
/// The body of <c>/health/*</c>: <c>{"status":"Unhealthy","checks":{"ready":{"status":"Unhealthy",
/// "description":"XMPP stream down, broker up","data":{"xmpp_stream":"down","broker":"connected"}}}}</c>,
/// so that an operator sees which connection is down (docs/publishing.md, "Health").
/// </summary>
public static class HealthResponse
{
    /// <summary>Writes <paramref name="report"/> as JSON (<c>application/json</c>).</summary>
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                if (entry.Description is not null) json.WriteString("description", entry.Description);
                json.WriteStartObject("data");
                foreach (var (key, value) in entry.Data) json.WriteString(key, value?.ToString());
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(stream.ToArray());
    }
}
