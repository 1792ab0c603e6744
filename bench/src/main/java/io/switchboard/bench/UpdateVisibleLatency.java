package io.switchboard.bench;

import io.aeron.Aeron;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.agent.SwitchboardAgent;
import io.switchboard.agent.UpdateLatencyRecorder;
import io.switchboard.control.ControlPlaneAdapter;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.EmbeddedMediaDriver;
import io.switchboard.control.codecs.SourceKind;
import io.switchboard.datapath.Datapath;
import io.switchboard.datapath.DatapathProgrammer;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.ModelConfig;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Update latency through the agent, end to end on one machine: a publisher offers desired-state updates on the
 * agent's Aeron IPC stream and the {@link SwitchboardAgent}, on its own thread as {@code switchboard agent} runs
 * it, applies them to its model and writes the BPF maps of a loaded (not attached) datapath. The agent's
 * {@link UpdateLatencyRecorder} hook reports, after the duty cycle's flush has written the maps,
 * {@code nanoTime - intended send time} of every update the cycle applied.
 *
 * <p>First N services × E endpoints go over the stream as one Kubernetes snapshot (Services and EndpointSlices)
 * and are programmed (timed, reported beside). Then one-endpoint EndpointSlice changes (endpoint 0 of a service
 * swapped for the spare pod, or back; the services taken in turn) are published at a fixed rate. Change i has
 * the intended send time {@code start + i × interval} stamped into its message, and the publisher waits until
 * that time before it offers: a publisher or agent stall makes later updates late and shows up in their
 * latency instead of delaying the schedule (no coordinated omission). The first {@code warmup} changes are
 * not recorded.
 */
final class UpdateVisibleLatency
{
    private static final String NODE_NAME = "bench-node";
    private static final long HIGHEST_NS = TimeUnit.SECONDS.toNanos(60);
    private static final long WAIT_NS = TimeUnit.MINUTES.toNanos(3);
    /** The publisher sleeps until this long before the intended time, then spins. */
    private static final long SPIN_NS = TimeUnit.MICROSECONDS.toNanos(100);

    /**
     * One scale's result.
     *
     * @param histogram        nanoseconds from intended send time to maps written, one value per measured change
     * @param snapshotSeconds  publishing and programming the initial snapshot through the stream
     * @param lateOffers       measured changes offered more than one interval after their intended time
     * @param offers           nanoseconds from intended send time to the publisher's offer returned (the
     *                         publisher's own share: waking, JSON encoding, offer)
     */
    record Result(int services, Histogram histogram, double snapshotSeconds, long lateOffers, int ratePerSecond,
        String idle, Histogram offers, double idleCpuPercent, double allocBytesPerUpdate, double mapMemoryMib)
    {
        double offerPercentileMicros(final double percentile)
        {
            return offers.getValueAtPercentile(percentile) / 1000.0;
        }

        double percentileMicros(final double percentile)
        {
            return histogram.getValueAtPercentile(percentile) / 1000.0;
        }

        double maxMicros()
        {
            return histogram.getMaxValue() / 1000.0;
        }
    }

    /** The agent-side recorder: counts every applied update, records those of the measured schedule. */
    static final class Recorder implements UpdateLatencyRecorder
    {
        final Histogram histogram = new Histogram(HIGHEST_NS, 3);
        private final AtomicLong applied = new AtomicLong();
        private volatile long measureFromNs = Long.MAX_VALUE;

        @Override
        public void record(final long latencyNs, final long intendedSendTimeNs)
        {
            if (intendedSendTimeNs >= measureFromNs)
            {
                histogram.recordValue(Math.min(Math.max(latencyNs, 0), HIGHEST_NS));
            }
            applied.lazySet(applied.get() + 1); // single writer: the agent thread
        }

        long applied()
        {
            return applied.get();
        }

        void measureFrom(final long intendedSendTimeNs)
        {
            measureFromNs = intendedSendTimeNs;
        }
    }

    private UpdateVisibleLatency()
    {
    }

    static IdleStrategy idleStrategy(final String name)
    {
        return switch (name)
        {
            // what AgentCommand runs the agent with
            case "adaptive" -> new io.switchboard.agent.AdaptiveIdleStrategy();
            // what it ran with before: parks doubling up to 1 ms
            case "backoff" -> new BackoffIdleStrategy(100, 10, 1_000, 1_000_000);
            case "busyspin" -> new BusySpinIdleStrategy();
            default -> throw new IllegalArgumentException("bench.latency.idle: adaptive, backoff or busyspin, not " +
                name);
        };
    }

    static Result measure(final ServiceSet set, final int warmup, final int changes, final int ratePerSecond,
        final String idle) throws Exception
    {
        if (!set.singleTargetPort())
        {
            throw new IllegalArgumentException("needs every endpoint on port " + ServiceSet.TARGET_PORT);
        }
        final String unique = ProcessHandle.current().pid() + "-" + System.nanoTime();
        final Path pins = Path.of("/sys/fs/bpf", "sb-bench-latency-" + unique);
        final Path aeronDir = Path.of("/dev/shm", "sb-bench-latency-" + unique);
        final int count = set.count();
        final KubernetesSerialization serialization = new KubernetesSerialization();
        final Recorder recorder = new Recorder();
        final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        try (EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(aeronDir);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.directory().toString()));
            Datapath datapath = Datapath.load(pins, new Datapath.Sizes(count + 64,
                2 * count * set.endpointsPerService() + 1024, count + 64, 65_536, 4096, 256));
            DatapathProgrammer programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
                new MaglevTableBuilder(new MaglevHash(MaglevHash.DEFAULT_SEED), TableSizes.defaults()),
                TableSizes.defaults()))
        {
            programmer.configure(MaglevHash.DEFAULT_SEED, 0, 0, 0, 0);
            final ClusterModel model = new ClusterModel(ModelConfig.forNode(NODE_NAME)
                .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
            final SwitchboardAgent agent = new SwitchboardAgent(model, programmer, null, null, Set.of(), log::add);
            agent.adapter(new ControlPlaneAdapter(aeron.addSubscription(ControlPlaneConfiguration.CHANNEL,
                ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), agent, serialization, log::add));
            agent.latencyRecorder(recorder);
            final DesiredStateProxy proxy = new DesiredStateProxy(aeron.addPublication(
                ControlPlaneConfiguration.CHANNEL, ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID),
                serialization, TimeUnit.SECONDS.toNanos(60));

            try (AgentRunner runner = new AgentRunner(idleStrategy(idle),
                error -> log.add("agent error: " + error), null, agent))
            {
                AgentRunner.startOnThread(runner);
                // as the agent's own sources do: each offer wakes the agent thread (AdaptiveIdleStrategy)
                proxy.wakeAfterEachOffer(() -> io.switchboard.agent.AdaptiveIdleStrategy.wake(runner.thread()));

                // the initial state, as a Kubernetes source would send it after a (re)connect
                final List<String> addresses = set.endpoints().stream().map(ServiceSet.Endpoint::ip).toList();
                final long snapshotStart = System.nanoTime();
                proxy.snapshotBegin(SourceKind.KUBERNETES, 1);
                for (int i = 0; i < count; i++)
                {
                    proxy.upsert(SourceKind.KUBERNETES, 1, ProgrammerDataplane.service(i, set.clusterIp(i)));
                    proxy.upsert(SourceKind.KUBERNETES, 1, ProgrammerDataplane.slice(i, addresses));
                }
                proxy.snapshotEnd(SourceKind.KUBERNETES, 1, 2 * count);
                awaitApplied(recorder, 2L * count, log);
                final double snapshotSeconds = (System.nanoTime() - snapshotStart) / 1e9;
                final double mapMemoryMib = datapathMemlockMib();
                if (programmer.programmedPorts().size() != count)
                {
                    throw new IllegalStateException(programmer.programmedPorts().size() + " service ports " +
                        "programmed of " + count + "; agent log: " + log);
                }

                // every change's object is built before the schedule starts
                final List<String> changed = new ArrayList<>(addresses);
                changed.set(0, set.spare().ip());
                final boolean[] swapped = new boolean[count];
                final int total = warmup + changes;
                final EndpointSlice[] slices = new EndpointSlice[total];
                for (int i = 0; i < total; i++)
                {
                    final int service = count - 1 - i % count;
                    swapped[service] = !swapped[service];
                    slices[i] = ProgrammerDataplane.slice(service, swapped[service] ? changed : addresses);
                }

                final long intervalNs = TimeUnit.SECONDS.toNanos(1) / ratePerSecond;
                final long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
                recorder.measureFrom(start + warmup * intervalNs);
                long late = 0;
                long allocatedBefore = 0;
                final Histogram offers = new Histogram(HIGHEST_NS, 3);
                for (int i = 0; i < total; i++)
                {
                    final long intended = start + i * intervalNs;
                    waitUntil(intended);
                    if (i == warmup)
                    {
                        allocatedBefore = agentAllocatedBytes(runner.thread());
                    }
                    if (i >= warmup && System.nanoTime() - intended > intervalNs)
                    {
                        late++;
                    }
                    proxy.upsert(SourceKind.KUBERNETES, 0, slices[i], intended);
                    if (i >= warmup)
                    {
                        offers.recordValue(Math.min(Math.max(System.nanoTime() - intended, 0), HIGHEST_NS));
                    }
                }
                awaitApplied(recorder, 2L * count + total, log);
                if (agent.adapter().rejected() > 0)
                {
                    throw new IllegalStateException(agent.adapter().rejected() + " updates rejected: " +
                        agent.adapter().distinctErrors());
                }
                final double allocPerUpdate = (double)(agentAllocatedBytes(runner.thread()) - allocatedBefore) / changes;
                final double idleCpu = idleCpuPercent(runner.thread());
                // the recorder's histogram is read after the agent thread stopped
                runner.close();
                return new Result(count, recorder.histogram.copy(), snapshotSeconds, late, ratePerSecond, idle,
                    offers, idleCpu, allocPerUpdate, mapMemoryMib);
            }
        }
        finally
        {
            removeTree(pins);
            removeTree(aeronDir);
        }
    }

    /** Bytes the agent thread has allocated so far (HotSpot's per-thread counter). */
    private static long agentAllocatedBytes(final Thread agentThread)
    {
        return ((com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean())
            .getThreadAllocatedBytes(agentThread.threadId());
    }

    /**
     * The memlock of every BPF map of the datapath, as {@code bpftool -j map show} reports it: the object's maps
     * ({@code sb_*}) and the inner Maglev tables ({@code sb_mglv_*}), in MiB. The harness's datapath is the only one
     * on the machine while it runs.
     */
    private static double datapathMemlockMib()
    {
        try
        {
            final Process process = new ProcessBuilder("bpftool", "-j", "map", "show")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            final String json = new String(process.getInputStream().readAllBytes(),
                java.nio.charset.StandardCharsets.UTF_8);
            process.waitFor();
            long bytes = 0;
            final java.util.regex.Matcher map = java.util.regex.Pattern
                .compile("\"name\":\"(sb_[^\"]*)\"[^}]*?\"bytes_memlock\":(\\d+)").matcher(json);
            while (map.find())
            {
                bytes += Long.parseLong(map.group(2));
            }
            return bytes / (1024.0 * 1024.0);
        }
        catch (final IOException ex)
        {
            return Double.NaN;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    /** The agent thread's CPU over 10 s with nothing to do, after its strategy has backed off, in % of a core. */
    private static double idleCpuPercent(final Thread agentThread) throws InterruptedException
    {
        final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        Thread.sleep(1_000);
        final long cpuBefore = threads.getThreadCpuTime(agentThread.threadId());
        final long before = System.nanoTime();
        Thread.sleep(10_000);
        final long cpu = threads.getThreadCpuTime(agentThread.threadId()) - cpuBefore;
        return 100.0 * cpu / (System.nanoTime() - before);
    }

    private static void waitUntil(final long deadlineNs)
    {
        long remaining;
        while ((remaining = deadlineNs - System.nanoTime()) > SPIN_NS)
        {
            LockSupport.parkNanos(remaining - SPIN_NS);
        }
        while (deadlineNs - System.nanoTime() > 0)
        {
            Thread.onSpinWait();
        }
    }

    private static void awaitApplied(final Recorder recorder, final long expected, final List<String> log)
    {
        final long deadline = System.nanoTime() + WAIT_NS;
        while (recorder.applied() < expected)
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new IllegalStateException("the agent applied " + recorder.applied() + " of " + expected +
                    " updates within " + TimeUnit.NANOSECONDS.toSeconds(WAIT_NS) + " s; agent log: " + log);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private static void removeTree(final Path root)
    {
        if (!Files.exists(root))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(root))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("removing " + root, ex);
        }
    }
}
