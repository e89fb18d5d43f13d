using System.Text;
using XmppRabbitComponent.Events;

namespace XmppRabbitComponent.Tests.Events;

public class EventJsonTests
{
    // The reference: strict UTF-8 of the whole string, then the escaping rule (", \, U+0000-U+001F).
    private static string Reference(string s)
    {
        var utf8 = new UTF8Encoding(false, true).GetBytes(s);
        var sb = new StringBuilder("\"");
        foreach (var ch in Encoding.UTF8.GetString(utf8))
        {
            sb.Append(ch switch
            {
                '"' => "\\\"", '\\' => "\\\\", '\b' => "\\b", '\f' => "\\f", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t",
                < ' ' => $"\\u{(int)ch:x4}",
                _ => ch.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    private static string Json(string body) =>
        Encoding.UTF8.GetString(EventJson.Serialize(new MessageEvent(EventKind.ChatMsgSent, "b@x", body, "a@x/r", "a@x")));

    private static IEnumerable<string> Bodies()
    {
        yield return "";
        yield return "plain";
        yield return "quote \" backslash \\ nl \n cr \r tab \t nul \0 unit \u001f";
        // A surrogate pair across the 1,024-unit chunk boundary, escapes on both sides of it, a long astral run.
        yield return new string('a', 1023) + "\U0001F600" + "\"\n" + new string('b', 2000);
        yield return new string('é', 1500) + "\n" + string.Concat(Enumerable.Repeat("\U0001F600", 900)) + "\\";
        yield return string.Concat(Enumerable.Repeat("x\"", 3000));
    }

    [TestCaseSource(nameof(Bodies))]
    public void Any_body_is_written_as_the_reference_writes_it(string body) =>
        Assert.That(Json(body), Is.EqualTo("{\"to_user_id\":\"b@x\",\"message\":" + Reference(body) + ",\"from_user_id\":\"a@x/r\"}"));

    // Built from code units: attribute strings cannot hold a lone surrogate (it would become U+FFFD).
    [TestCase("", 0xD800, "")]
    [TestCase("x", 0xDC00, "y")]
    [TestCase("a", 0xD83D, "")]
    public void An_unpaired_surrogate_anywhere_is_an_ArgumentException(string before, int unit, string after)
    {
        var bad = before + (char)unit + after;
        Assert.Throws<ArgumentException>(() => Json(bad));
        Assert.Throws<ArgumentException>(() => Json(new string('a', 1023) + bad));
        Assert.Throws<ArgumentException>(() => Json(new string('a', 5000) + bad));
        // The writer is still usable afterwards.
        Assert.That(Json("ok"), Does.Contain("\"message\":\"ok\""));
    }
}
