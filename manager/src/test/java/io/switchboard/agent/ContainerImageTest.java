package io.switchboard.agent;

import io.switchboard.netns.LabFiles;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Names;
import io.switchboard.netns.Requests;
import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The image {@code deploy/build-image} makes, run by podman as the DaemonSet runs it: privileged, in the node's
 * network namespace (the lab node's, as {@code hostNetwork}), with the host's bpffs and cgroup hierarchy mounted
 * at their own paths, a private {@code /dev/shm} and a state directory; the agent inside programs the node from a
 * mounted manifests directory, a client outside reaches the NodePort and a pod answers, the CLI inside reads the
 * pinned maps ({@code kubectl exec … switchboard get services}), and SIGTERM ({@code podman stop}) ends it
 * promptly with the datapath left serving.
 *
 * <p>Two settings differ from podman's defaults because of this machine, not the image: the runtime is runc,
 * since crun 1.8 (Debian 12) refuses hybrid cgroups while a controller is bound to cgroup2 ("cgroups in hybrid
 * mode not supported, drop all controllers from cgroupv2"; runc is also what Kubernetes' runtimes use); and the
 * container gets this process's own open-file and process limits, since podman as root sets both to 1048576,
 * above this machine's hard limits, which needs CAP_SYS_RESOURCE, outside its capability bounding set (a
 * kubelet's runtime hands its containers its own limits in the same way).
 */
@KernelTest
class ContainerImageTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-image-test");

    @Test
    void theImageRunsTheAgentAsTheDaemonSetDoesAndServesTheNodePort(@Pods(2) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        for (final String command : List.of("podman", "runc", "mmdebstrap"))
        {
            assertThat(Shell.tryRun("sh", "-c", "command -v " + command).exitCode())
                .as(command + " is installed (bin/prereqs installs it)").isZero();
        }
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
        }
        LabFiles.replace(directories.manifests().resolve("web.yaml"), AgentTrafficTest.webManifests(List.of(0, 1),
            false));
        final Path state = Files.createDirectories(directories.work().resolve("state"));
        final String container = "switchboard-test-" + Names.next();
        try (ContainerImage image = ContainerImage.build())
        {
            final List<String> run = new ArrayList<>(podmanRun("--detach", "--name", container,
                "--log-driver=k8s-file",
                "--privileged", "--network=ns:/var/run/netns/" + network.node().namespace(),
                "--shm-size=64m",
                "--volume=/sys/fs/bpf:/sys/fs/bpf",
                "--volume=/sys/fs/cgroup:/sys/fs/cgroup",
                "--volume=" + state + ":/var/lib/switchboard",
                "--volume=" + directories.manifests() + ":/etc/switchboard/manifests:ro"));
            if (Files.isDirectory(Path.of("/lib/modules")))
            {
                run.add("--volume=/lib/modules:/lib/modules:ro");
            }
            run.add(image.tag());
            run.addAll(List.of("agent", "--node-name=node-a", "--node-ip=198.18.0.1", "--xdp-iface=auto",
                "--manifests=/etc/switchboard/manifests",
                "--cgroup=" + cgroup.path(),
                "--bpffs-dir=" + pins.resolve("agent"),
                "--state-dir=/var/lib/switchboard",
                "--aeron-dir=/dev/shm/switchboard-aeron"));
            Shell.run(run.toArray(String[]::new));
            try
            {
                awaitLog(container, "agent ready");
                assertThat(logs(container)).as("--xdp-iface=auto found the node's interface with the default route")
                    .contains("XDP on ext0");

                final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
                final Set<String> pods = new HashSet<>();
                Await.await(() ->
                {
                    try
                    {
                        pods.add(Requests.tcp(network.client(), nodePort, TIMEOUT).pod());
                    }
                    catch (final RuntimeException notYet)
                    {
                        // the agent programs the port after it says it is ready to read manifests
                    }
                    return pods;
                }, seen -> seen.size() == 2);
                assertThat(pods).containsExactlyInAnyOrder("pod-0", "pod-1");
                final Requests.Answer answer = Requests.tcp(network.client(), nodePort, TIMEOUT);
                assertThat(answer.peer()).isEqualTo(nodePort);
                assertThat(answer.callerSeenByPod()).isEqualTo(network.client().address4());
                // the DaemonSet's startup and readiness probes
                assertThat(AgentTrafficTest.httpGet(network.client(), "http://198.18.0.1:10256/healthz"))
                    .startsWith("200 ");

                // the CLI in the container, on the agent's pins and state, as `kubectl exec ds/switchboard`
                final String services = Shell.run("podman", "exec", container, "switchboard", "get", "services",
                    "--bpffs-dir=" + pins.resolve("agent"));
                assertThat(services).contains("default/web").contains("30080");
                // the runtime in the image is the jlinked one, not a JDK
                final String modules = Shell.run("podman", "exec", container, "java", "--list-modules");
                assertThat(modules).contains("java.base").doesNotContain("jdk.compiler");

                final long start = System.nanoTime();
                Shell.run("podman", "stop", "--time=10", container);
                final Duration stopped = Duration.ofNanos(System.nanoTime() - start);
                assertThat(stopped).as("SIGTERM to exit; the agent said:\n" + logs(container))
                    .isLessThan(Duration.ofSeconds(5));
                assertThat(logs(container)).contains("agent stopping");
            }
            finally
            {
                Shell.tryRun("podman", "rm", "--force", "--time=0", container);
            }
            assertThat(Shell.tryRun("podman", "container", "exists", container).exitCode()).as("removed").isNotZero();
            assertThat(Requests.tcp(network.client(), new InetSocketAddress(network.node().address4(), 30080),
                TIMEOUT).pod()).as("served with the container gone: the datapath is pinned").isIn("pod-0", "pod-1");

            // --kubeconfig=in-cluster: the API client speaks TLS through the JDK's HTTP client; the jlinked
            // runtime must hold it (an EC key, as kubeadm's API server certificates can be)
            final Path keys = directories.work().resolve("tls.p12");
            Shell.run(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "api", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "san=ip:127.0.0.1", "-validity", "1", "-storetype", "PKCS12", "-keystore", keys.toString(),
                "-storepass", "probe-only", "-keypass", "probe-only");
            final Path classes = Path.of(TlsProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            assertThat(Shell.run(podmanRun("--rm", "--network=none", "--volume=" + classes + ":/probe:ro",
                "--volume=" + keys + ":/tls.p12:ro", "--entrypoint=java", image.tag(), "-cp", "/probe",
                TlsProbe.class.getName(), "/tls.p12", "probe-only").toArray(String[]::new)).strip())
                .isEqualTo("200 version TLSv1.3");
        }
    }

    /**
     * {@code podman run} with the settings this machine needs (the class comment says why) and {@code options}:
     * the image's local build only, runc, and this process's own open-file and process limits.
     */
    private static List<String> podmanRun(final String... options) throws IOException
    {
        final List<String> command = new ArrayList<>(List.of("podman", "run", "--pull=never", "--runtime=runc",
            "--ulimit=nofile=" + limits("Max open files"),
            "--ulimit=nproc=" + Math.min(Long.parseLong(limits("Max processes").split(":")[1]), pidMax())));
        command.addAll(List.of(options));
        return command;
    }

    private static void awaitLog(final String container, final String text)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(60)).toNanos();
        while (!logs(container).contains(text))
        {
            final String running = Shell.tryRun("podman", "inspect", "--format={{.State.Running}}", container)
                .output().strip();
            if (!running.equals("true") || System.nanoTime() > deadline)
            {
                throw new AssertionError("the agent in the container did not say '" + text + "' (running: " + running +
                    "):\n" + logs(container));
            }
            AgentProcess.sleep(200);
        }
    }

    private static String logs(final String container)
    {
        return Shell.tryRun("podman", "logs", container).output();
    }

    /** "soft:hard" of this process's limit named {@code name} in /proc/self/limits. */
    private static String limits(final String name) throws IOException
    {
        for (final String line : Files.readAllLines(Path.of("/proc/self/limits")))
        {
            if (line.startsWith(name))
            {
                final String[] words = line.substring(name.length()).trim().split("\\s+");
                return words[0].replace("unlimited", "-1") + ":" + words[1].replace("unlimited", "-1");
            }
        }
        throw new IllegalStateException("no '" + name + "' in /proc/self/limits");
    }

    /** The kernel's pid_max: podman caps the container's process limit there. */
    private static long pidMax() throws IOException
    {
        return Long.parseLong(Files.readString(Path.of("/proc/sys/kernel/pid_max")).strip());
    }
}
