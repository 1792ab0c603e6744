package io.switchboard.source;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.time.Duration;
import java.util.Objects;

/**
 * The Kubernetes source's health for {@code /metrics} and {@code /healthz}:
 * {@code switchboard_kubernetes_watching} (1 while every informer watches a synced cache),
 * {@code switchboard_kubernetes_not_watching_seconds} (how long it has not) and
 * {@code switchboard_kubernetes_informer_restarts_total} (informer sets replaced after one gave up).
 */
public final class KubernetesSourceMetrics implements MultiCollector
{
    private final KubernetesSource source;
    private final Duration grace;

    /** @param grace how long the source may be without live watches before {@link #unhealthy} says so. */
    public KubernetesSourceMetrics(final KubernetesSource source, final Duration grace)
    {
        this.source = Objects.requireNonNull(source, "source");
        this.grace = Objects.requireNonNull(grace, "grace");
    }

    /** Why {@code /healthz} must fail (no live watch on the API server for longer than the grace), or null. */
    public String unhealthy()
    {
        final long downNs = source.notWatchingForNs(System.nanoTime());
        if (downNs <= grace.toNanos())
        {
            return null;
        }
        return "no live watch on the Kubernetes API server for " + downNs / 1_000_000_000L + " s (grace " +
            grace.toSeconds() + " s); the datapath keeps serving what it last had";
    }

    @Override
    public MetricSnapshots collect()
    {
        final long downNs = source.notWatchingForNs(System.nanoTime());
        return MetricSnapshots.of(
            GaugeSnapshot.builder().name("switchboard_kubernetes_watching")
                .help("1 while every informer watches a synced cache of the API server, else 0.")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(0 == downNs ? 1 : 0).build())
                .build(),
            GaugeSnapshot.builder().name("switchboard_kubernetes_not_watching_seconds")
                .help("How long the source has been without a live watch on every resource; 0 while it has them.")
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(downNs / 1e9).build())
                .build(),
            CounterSnapshot.builder().name("switchboard_kubernetes_informer_restarts")
                .help("Times the informers were replaced after one gave up (e.g. 403 on its list).")
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(source.restarts()).build())
                .build());
    }
}
