package io.switchboard.agent;

import io.switchboard.datapath.DatapathReader;
import io.switchboard.netns.LabCluster;
import io.switchboard.netns.LabFiles;
import io.switchboard.netns.Names;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.TestCgroup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One real agent per node of a {@link LabCluster}, each as operators would run it on its node: its own
 * process in the node's network namespace with its own pins, Aeron directory, state directory and
 * cgroup for the socket hooks, its node name and addresses, XDP on {@code ext0}; all follow the same
 * manifests directory with the same Maglev seed, as a DaemonSet's agents follow one API server.
 * Closing stops every agent and removes every directory; it is also registered with the cluster, so
 * the agents stop before the namespaces go whatever the test does.
 */
final class ClusterAgents implements AutoCloseable
{
    static final int MAGLEV_SEED = 0x5eed;

    private final LabCluster cluster;
    private final Path work;
    private final Path manifests;
    private final List<Path> pins = new ArrayList<>();
    private final List<Path> aeronDirectories = new ArrayList<>();
    private final List<TestCgroup> cgroups = new ArrayList<>();
    /** Written by the threads of {@link #startAll}, each its own slot. */
    private final List<AgentProcess> agents = new CopyOnWriteArrayList<>();

    private volatile String classPath = System.getProperty("java.class.path");
    private boolean closed;

    ClusterAgents(final LabCluster cluster, final PinDirectory pinDirectory, final TestCgroup cgroup)
    {
        this.cluster = cluster;
        try
        {
            work = Files.createTempDirectory("switchboard-cluster-test");
            manifests = Files.createDirectories(work.resolve("manifests"));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        for (int i = 0; i < cluster.nodes().size(); i++)
        {
            final String node = LabCluster.nodeName(i);
            pins.add(pinDirectory.resolve(node));
            aeronDirectories.add(Path.of("/dev/shm", "switchboard-" + Names.next() + "-" + node));
            cgroups.add(cgroup.child(node));
            agents.add(null);
        }
        // the agents stop before either the cluster or the pin directory goes (JUnit closes the pins first)
        cluster.closeWithCluster(this);
        pinDirectory.closeFirst(this);
    }

    /** Replaces the one manifest every agent follows (atomically: an agent never reads half a file). */
    ClusterAgents manifests(final String yaml)
    {
        LabFiles.replace(manifests.resolve("cluster.yaml"), yaml);
        return this;
    }

    /** Starts every node's agent at once and waits until each is ready. */
    ClusterAgents startAll()
    {
        final List<Thread> starting = new ArrayList<>();
        final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < agents.size(); i++)
        {
            final int node = i;
            starting.add(Thread.ofPlatform().name("start-" + LabCluster.nodeName(node)).start(() ->
            {
                try
                {
                    start(node);
                }
                catch (final RuntimeException | AssertionError ex)
                {
                    failures.add(ex);
                }
            }));
        }
        for (final Thread thread : starting)
        {
            try
            {
                thread.join();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted starting agents", ex);
            }
        }
        if (!failures.isEmpty())
        {
            final AssertionError error = new AssertionError("an agent did not start: " + failures.get(0).getMessage());
            failures.forEach(error::addSuppressed);
            throw error;
        }
        return this;
    }

    /**
     * Agents started from now on run {@code jar} (another release, for upgrade tests), or this JVM's class path
     * when it is null.
     */
    ClusterAgents release(final Path jar)
    {
        classPath = null == jar ? System.getProperty("java.class.path") : jar.toString();
        return this;
    }

    /** Starts node {@code node}'s agent (again, after a kill: it adopts what its predecessor pinned). */
    AgentProcess start(final int node)
    {
        final AgentProcess agent = AgentProcess.start(cluster.node(node), classPath, arguments(node));
        agents.set(node, agent);
        return agent;
    }

    /** SIGTERM to node {@code node}'s agent, as a rolling update sends it; fails unless it exits within 5 s. */
    void terminate(final int node)
    {
        if (agents.get(node).terminate(AgentProcess.scaled(Duration.ofSeconds(5))).isEmpty())
        {
            throw new AssertionError("node " + node + "'s agent still ran 5 s after SIGTERM");
        }
    }

    /** SIGKILL to node {@code node}'s agent. */
    void kill(final int node)
    {
        agents.get(node).kill();
    }

    AgentProcess agent(final int node)
    {
        return agents.get(node);
    }

    /** Node {@code node}'s cgroup: processes started in it go through that node's socket hooks. */
    TestCgroup cgroup(final int node)
    {
        return cgroups.get(node);
    }

    /** Node {@code node}'s pinned maps, read as {@code switchboard get} reads them. */
    DatapathReader reader(final int node)
    {
        return DatapathReader.pinned(pins.get(node));
    }

    private List<String> arguments(final int node)
    {
        return List.of("--node-name", LabCluster.nodeName(node),
            "--node-ip", LabCluster.nodeAddress4(node), "--node-ip", LabCluster.nodeAddress6(node),
            "--xdp-iface", LabCluster.NODE_EXTERNAL_INTERFACE,
            "--cgroup", cgroups.get(node).path().toString(),
            "--bpffs-dir", pins.get(node).toString(),
            "--aeron-dir", aeronDirectories.get(node).toString(),
            "--state-dir", work.resolve(LabCluster.nodeName(node)).resolve("state").toString(),
            "--manifests", manifests.toString(),
            "--maglev-seed", Integer.toString(MAGLEV_SEED));
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final AgentProcess agent : agents)
        {
            if (null != agent)
            {
                agent.close();
            }
        }
        LabFiles.deleteTree(work);
        for (final Path aeron : aeronDirectories)
        {
            LabFiles.deleteTree(aeron);
        }
    }
}
