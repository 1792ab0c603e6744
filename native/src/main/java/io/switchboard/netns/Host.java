package io.switchboard.netns;


import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * One network namespace of a {@link LabNetwork} or a {@link LabCluster}: the client, a node or a pod. Code passed to
 * {@link #call} runs inside it; sockets opened there stay in it.
 */
public final class Host
{
    private final String role;
    private final String namespace;
    private final InetAddress address4;
    private final InetAddress address6;
    private final String interfaceName;

    Host(final String role, final String namespace, final InetAddress address4, final InetAddress address6,
        final String interfaceName)
    {
        this.role = role;
        this.namespace = namespace;
        this.address4 = address4;
        this.address6 = address6;
        this.interfaceName = interfaceName;
    }

    /** "client", "node" or "pod-N" ({@link LabNetwork}); "client", "nodeN" or "nodeN-podJ" ({@link LabCluster}). */
    public String role()
    {
        return role;
    }

    /** The network namespace's name under /var/run/netns. */
    public String namespace()
    {
        return namespace;
    }

    /** The host's IPv4 address (for the node: its address on the client-facing link). */
    public InetAddress address4()
    {
        return address4;
    }

    /** The host's IPv6 address (for the node: its address on the client-facing link). */
    public InetAddress address6()
    {
        return address6;
    }

    /** The interface that joins this host to the rest (for the node: the client-facing one). */
    public String interfaceName()
    {
        return interfaceName;
    }

    /** Runs {@code work} inside this host's network namespace. */
    public <T> T call(final Callable<T> work)
    {
        return NetworkNamespace.call(namespace, work);
    }

    /** Runs {@code work} inside this host's network namespace. */
    public void run(final NetworkNamespace.ThrowingRunnable work)
    {
        NetworkNamespace.run(namespace, work);
    }

    /** Runs a command in this namespace (network namespace only, so bpffs and cgroups stay visible). */
    public String exec(final String... command)
    {
        return Shell.run(nsenter(command));
    }

    /** Like {@link #exec} but returns the exit code and output instead of failing. */
    public Shell.Result tryExec(final String... command)
    {
        return Shell.tryRun(nsenter(command));
    }

    private String[] nsenter(final String... command)
    {
        final List<String> full = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + namespace));
        full.addAll(List.of(command));
        return full.toArray(String[]::new);
    }

    @Override
    public String toString()
    {
        return role + "(" + namespace + ", " + address4.getHostAddress() + ")";
    }
}
