package io.switchboard.dns;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.xbill.DNS.Rcode;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The DNS server's counters, written by its threads, read by {@code /metrics}:
 * {@code switchboard_dns_responses_total{rcode}}, {@code switchboard_dns_malformed_total{action}} (FORMERR
 * answered, or dropped: shorter than a header, or itself a response) and
 * {@code switchboard_dns_forwarded_total{result}}.
 */
public final class DnsMetrics implements MultiCollector
{
    private static final int RCODES = 16;
    private final AtomicLongArray responses = new AtomicLongArray(RCODES);
    private final LongAdder malformedAnswered = new LongAdder();
    private final LongAdder malformedDropped = new LongAdder();
    private final LongAdder forwardedAnswered = new LongAdder();
    private final LongAdder forwardedFailed = new LongAdder();

    void response(final int rcode)
    {
        responses.incrementAndGet(rcode & (RCODES - 1));
    }

    void malformed(final boolean answered)
    {
        (answered ? malformedAnswered : malformedDropped).increment();
    }

    void forwarded(final boolean answered)
    {
        (answered ? forwardedAnswered : forwardedFailed).increment();
    }

    /** Responses sent with {@code rcode}. */
    public long responses(final int rcode)
    {
        return responses.get(rcode & (RCODES - 1));
    }

    /** Malformed packets dropped without an answer. */
    public long malformedDropped()
    {
        return malformedDropped.sum();
    }

    /** Malformed packets answered with FORMERR. */
    public long malformedAnswered()
    {
        return malformedAnswered.sum();
    }

    @Override
    public MetricSnapshots collect()
    {
        final CounterSnapshot.Builder byRcode = CounterSnapshot.builder().name("switchboard_dns_responses")
            .help("DNS responses sent, by response code.");
        for (int rcode = 0; rcode < RCODES; rcode++)
        {
            final long count = responses.get(rcode);
            if (count > 0 || rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN)
            {
                byRcode.dataPoint(point("rcode", Rcode.string(rcode), count));
            }
        }
        final CounterSnapshot malformed = CounterSnapshot.builder().name("switchboard_dns_malformed")
            .help("DNS packets that did not parse: answered with FORMERR, or dropped.")
            .dataPoint(point("action", "formerr", malformedAnswered.sum()))
            .dataPoint(point("action", "dropped", malformedDropped.sum())).build();
        final CounterSnapshot forwarded = CounterSnapshot.builder().name("switchboard_dns_forwarded")
            .help("Queries for names outside the zone sent to the upstream server, by outcome.")
            .dataPoint(point("result", "answered", forwardedAnswered.sum()))
            .dataPoint(point("result", "failed", forwardedFailed.sum())).build();
        return new MetricSnapshots(byRcode.build(), malformed, forwarded);
    }

    private static CounterSnapshot.CounterDataPointSnapshot point(final String label, final String value,
        final long count)
    {
        return CounterSnapshot.CounterDataPointSnapshot.builder().labels(Labels.of(label, value)).value(count).build();
    }
}
