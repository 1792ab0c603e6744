package io.switchboard.netns;

import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.XdpMode;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The namespaces of one lab ({@link LabNetwork}, {@link LabCluster}) under one {@link Names} prefix,
 * the pieces both build from (a namespace, a pod behind a point-to-point veth), and their removal:
 * what was registered to close first, newest first, then every namespace, and with it every veth.
 */
final class LabNamespaces implements AutoCloseable
{
    /** Pods reach their node through this link-local gateway, as CNI plugins with point-to-point links do. */
    static final String POD_GATEWAY4 = "169.254.1.1";
    static final String POD_GATEWAY6 = "fe80::1";

    private final String prefix = Names.next();
    private final List<String> namespaces = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private BpfObject passAll;

    /** Adds namespace {@code <prefix>-<role>} with loopback up and no duplicate address detection. */
    String add(final String role)
    {
        final String name = prefix + "-" + role;
        Shell.run("ip", "netns", "add", name);
        namespaces.add(name);
        // no duplicate address detection: addresses are usable at once
        sysctl(name, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
        Shell.run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    static void sysctl(final String namespace, final String... settings)
    {
        final List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + namespace,
            "sysctl", "-qw"));
        command.addAll(List.of(settings));
        Shell.run(command.toArray(String[]::new));
    }

    static void forwarding(final String namespace)
    {
        sysctl(namespace, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
    }

    /**
     * Adds a pod namespace behind veth {@code nodeSide} of {@code nodeNs}: the pod holds {@code pod4}/32
     * and {@code pod6}/128 on its {@code eth0}, routes everything through the link-local gateway, and
     * the node routes the two addresses to {@code nodeSide}.
     */
    Host addPod(final String nodeNs, final String nodeSide, final String role, final String pod4, final String pod6)
    {
        final String podNs = add(role);
        Shell.run("ip", "-n", nodeNs, "link", "add", nodeSide, "type", "veth", "peer", "name", "eth0",
            "netns", podNs);
        Shell.run("ip", "-n", nodeNs, "addr", "add", POD_GATEWAY4 + "/32", "dev", nodeSide);
        Shell.run("ip", "-n", nodeNs, "addr", "add", POD_GATEWAY6 + "/64", "dev", nodeSide, "nodad");
        Shell.run("ip", "-n", nodeNs, "link", "set", nodeSide, "up");
        Shell.run("ip", "-n", nodeNs, "route", "add", pod4 + "/32", "dev", nodeSide);
        Shell.run("ip", "-n", nodeNs, "-6", "route", "add", pod6 + "/128", "dev", nodeSide);
        Shell.run("ip", "-n", podNs, "addr", "add", pod4 + "/32", "dev", "eth0");
        Shell.run("ip", "-n", podNs, "addr", "add", pod6 + "/128", "dev", "eth0", "nodad");
        Shell.run("ip", "-n", podNs, "link", "set", "eth0", "up");
        Shell.run("ip", "-n", podNs, "route", "add", POD_GATEWAY4, "dev", "eth0", "scope", "link");
        Shell.run("ip", "-n", podNs, "route", "add", "default", "via", POD_GATEWAY4, "dev", "eth0");
        Shell.run("ip", "-n", podNs, "-6", "route", "add", "default", "via", POD_GATEWAY6, "dev", "eth0");
        return new Host(role, podNs, address(pod4), address(pod6), "eth0");
    }

    static InetAddress address(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
        }
    }

    List<String> namespaces()
    {
        return Collections.unmodifiableList(namespaces);
    }

    /**
     * Attaches a program that passes every frame ({@code probe_xdp} of {@code bpf/probe.bpf.o}, which only
     * counts) to the veth end {@code interfaceName} in {@code namespace}: a veth wakes its peer for
     * {@code XDP_TX} frames (a node's refusals and ARP / NDP answers) only when the peer runs an XDP
     * program; with GRO alone they wait in its ring. A NIC's wire has no such condition, and a real client
     * has no such program: only tests about {@code XDP_TX} itself attach it
     * ({@link LabNetwork#passAllXdpOnClient()}).
     */
    void passAllXdp(final String namespace, final String interfaceName)
    {
        if (null == passAll)
        {
            passAll = closeFirst(BpfObject.openResource("bpf/probe.bpf.o").load());
        }
        closeFirst(NetworkNamespace.call(namespace, () -> passAll.program("probe_xdp")
            .attachXdp(Interfaces.index(interfaceName), XdpMode.NATIVE)));
    }

    <T extends AutoCloseable> T closeFirst(final T resource)
    {
        closeables.add(resource);
        return resource;
    }

    @Override
    public void close()
    {
        final List<String> failures = new ArrayList<>();
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            try
            {
                closeables.get(i).close();
            }
            catch (final Exception ex)
            {
                failures.add(ex.toString());
            }
        }
        closeables.clear();
        for (final String namespace : namespaces)
        {
            final Shell.Result result = Shell.tryRun("ip", "netns", "del", namespace);
            if (result.exitCode() != 0)
            {
                failures.add("ip netns del " + namespace + ": " + result.output().strip());
            }
        }
        namespaces.clear();
        if (!failures.isEmpty())
        {
            throw new IllegalStateException("cleaning up " + prefix + ": " + String.join("; ", failures));
        }
    }
}
