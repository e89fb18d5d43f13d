using XmppRabbitComponent.Xmpp;

namespace XmppRabbitComponent.Tests.Xmpp;

public class ReconnectPolicyTests
{
    private static readonly ReconnectPolicy Policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));

    [TestCase(0, 1.0, 1.0)]
    [TestCase(1, 1.0, 1.0)]
    [TestCase(1, 0.0, 0.5)]
    [TestCase(2, 1.0, 2.0)]
    [TestCase(3, 1.0, 4.0)]
    [TestCase(4, 0.5, 6.0)]
    [TestCase(5, 1.0, 16.0)]
    [TestCase(6, 1.0, 30.0)]
    [TestCase(6, 0.0, 15.0)]
    [TestCase(1000, 1.0, 30.0)]
    [TestCase(int.MaxValue, 1.0, 30.0)]
    public void Delay_doubles_from_the_minimum_up_to_the_cap_with_equal_jitter(int failures, double jitter, double expectedSeconds)
    {
        Assert.That(Policy.NextDelay(failures, FailureKind.Transport, jitter), Is.EqualTo(TimeSpan.FromSeconds(expectedSeconds)));
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(100)]
    public void A_refused_handshake_waits_at_least_the_auth_failure_delay(int failures)
    {
        Assert.That(Policy.NextDelay(failures, FailureKind.AuthenticationRefused, 0.0), Is.EqualTo(TimeSpan.FromSeconds(60)));
        Assert.That(Policy.NextDelay(failures, FailureKind.AuthenticationRefused, 1.0), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(60)));
    }

    [Test]
    public void Protocol_failures_back_off_like_transport_failures()
    {
        Assert.That(Policy.NextDelay(3, FailureKind.Protocol, 1.0), Is.EqualTo(Policy.NextDelay(3, FailureKind.Transport, 1.0)));
    }

    [Test]
    public void Negative_failure_count_is_refused_by_parameter_name()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Policy.NextDelay(-1, FailureKind.Transport, 0.5))!;
        Assert.That(ex.ParamName, Is.EqualTo("consecutiveFailures"));
    }

    [TestCase(-0.01)]
    [TestCase(1.01)]
    [TestCase(double.NaN)]
    public void Jitter_outside_zero_to_one_is_refused_by_parameter_name(double jitter)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Policy.NextDelay(1, FailureKind.Transport, jitter))!;
        Assert.That(ex.ParamName, Is.EqualTo("jitter01"));
    }

    [Test]
    public void Constructor_refuses_a_cap_below_the_minimum_by_parameter_name()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ReconnectPolicy(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.Zero))!;
        Assert.That(ex.ParamName, Is.EqualTo("maxDelay"));
    }

    [Test]
    public void Failures_classify_into_auth_refusal_protocol_and_transport()
    {
        Assert.That(ReconnectPolicy.Classify(new StreamErrorException("not-authorized", null)), Is.EqualTo(FailureKind.AuthenticationRefused));
        Assert.That(ReconnectPolicy.Classify(new StreamErrorException("host-unknown", null)), Is.EqualTo(FailureKind.AuthenticationRefused));
        Assert.That(ReconnectPolicy.Classify(new StreamErrorException("conflict", null)), Is.EqualTo(FailureKind.Protocol));
        Assert.That(ReconnectPolicy.Classify(new XmppProtocolException(StreamErrorCondition.PolicyViolation, "x")), Is.EqualTo(FailureKind.Protocol));
        Assert.That(ReconnectPolicy.Classify(new IOException()), Is.EqualTo(FailureKind.Transport));
        Assert.That(ReconnectPolicy.Classify(new XmppStreamTimeoutException(XmppTimeoutKind.Read, TimeSpan.FromSeconds(1))), Is.EqualTo(FailureKind.Transport));
        Assert.That(ReconnectPolicy.Classify(null), Is.EqualTo(FailureKind.Transport));
    }

    [Test]
    public void Cause_names_are_stream_error_conditions_or_fault_names()
    {
        Assert.That(ReconnectPolicy.CauseName(new StreamErrorException("conflict", null)), Is.EqualTo("conflict"));
        Assert.That(ReconnectPolicy.CauseName(new StreamErrorException("bogus", null)), Is.EqualTo("undefined-condition"));
        Assert.That(ReconnectPolicy.CauseName(new XmppProtocolException(StreamErrorCondition.RestrictedXml, "x")), Is.EqualTo("restricted-xml"));
        Assert.That(ReconnectPolicy.CauseName(new XmppStreamTimeoutException(XmppTimeoutKind.Read, TimeSpan.FromSeconds(1))), Is.EqualTo("timeout"));
        Assert.That(ReconnectPolicy.CauseName(null), Is.EqualTo("eof"));
        Assert.That(ReconnectPolicy.CauseName(new IOException()), Is.EqualTo("io"));
    }
}
