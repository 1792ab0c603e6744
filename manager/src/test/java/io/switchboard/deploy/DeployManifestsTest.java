package io.switchboard.deploy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.cli.SwitchboardCommand;
import io.switchboard.source.ManifestSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code deploy/}: what can be checked without a cluster or a container engine. Every manifest parses into
 * typed fabric8 objects with no field the model does not know; the DaemonSet passes only flags
 * {@code switchboard agent} accepts, mounts what the datapath needs and is allowed to read what the agent
 * follows; the image (deploy/build-image) runs the jar the build produces.
 */
class DeployManifestsTest
{
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
    private static Path deploy;
    private static List<HasMetadata> objects;

    @BeforeAll
    static void parseEveryManifest() throws IOException
    {
        deploy = repositoryRoot().resolve("deploy");
        objects = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(deploy, "*.yaml"))
        {
            for (final Path file : files)
            {
                objects.addAll(ManifestSource.parse(SERIALIZATION, file));
            }
        }
    }

    @Test
    void everyDocumentIsATypedObjectWithNoUnknownField()
    {
        assertThat(objects).isNotEmpty();
        for (final HasMetadata object : objects)
        {
            assertThat(object).as(object.getKind() + " " + object.getMetadata().getName())
                .isNotInstanceOf(GenericKubernetesResource.class);
            assertThat(unknownFields(object)).as(object.getKind() + " " + object.getMetadata().getName()).isEmpty();
        }
        assertThat(objects).extracting(HasMetadata::getKind)
            .contains("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet");
    }

    @Test
    void theUnknownFieldCheckFindsAMisspelledField()
    {
        final DaemonSet misspelled = SERIALIZATION.unmarshal("""
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: x}
            spec:
              template:
                spec:
                  hostNetwrok: true
                  containers: [{name: a, image: b, securityContext: {privilegd: true}}]
            """, DaemonSet.class);
        assertThat(unknownFields(misspelled)).containsExactlyInAnyOrder(
            "DaemonSet.spec.template.spec.hostNetwrok", "DaemonSet.spec.template.spec.containers.securityContext.privilegd");
    }

    @Test
    void theAgentsArgumentsAreAllOptionsOfSwitchboardAgent()
    {
        final Container agent = agentContainer();
        final List<String> args = new ArrayList<>();
        if (null != agent.getCommand())
        {
            args.addAll(agent.getCommand());
        }
        args.addAll(agent.getArgs());
        assertThat(args.getFirst()).isEqualTo("agent");

        final CommandSpec spec = new CommandLine(new SwitchboardCommand()).getSubcommands().get("agent").getCommandSpec();
        final List<String> flags = new ArrayList<>();
        for (int i = 1; i < args.size(); i++)
        {
            final String arg = args.get(i);
            assertThat(arg).as("argument %d: a --flag, not a positional or a stray value", i).startsWith("--");
            final int equals = arg.indexOf('=');
            final String name = equals < 0 ? arg : arg.substring(0, equals);
            final OptionSpec option = spec.findOption(name);
            assertThat(option).as("switchboard agent option " + name).isNotNull();
            flags.add(name);
            if (equals < 0 && option.arity().max() > 0)
            {
                i++; // --flag value
            }
        }
        assertThat(flags).contains("--node-name", "--kubeconfig", "--xdp-iface", "--cgroup", "--bpffs-dir",
            "--state-dir", "--aeron-dir");
        assertThat(args).contains("--kubeconfig=in-cluster");
        // nothing to edit per cluster: interfaces found on each node, cluster DNS on the usual kube-dns ClusterIP
        assertThat(args).contains("--xdp-iface=auto", "--dns-listen=$(NODE_IP):53", "--dns-service-ip=10.96.0.10");
        assertThat(flags).as("metrics stay on the agent's loopback default, as kube-proxy's")
            .doesNotContain("--metrics-address", "--healthz-address");

        // And picocli converts every value to its option's type (the kubelet's substitutions made first).
        final CommandLine cli = new CommandLine(new SwitchboardCommand());
        final CommandLine.ParseResult parsed = cli.parseArgs(args.stream()
            .map(arg -> arg.replace("$(NODE_NAME)", "node-a").replace("$(NODE_IP)", "192.0.2.10"))
            .toArray(String[]::new));
        assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("agent");
        assertThat(parsed.subcommand().unmatched()).isEmpty();
    }

    @Test
    void everyVariableInTheArgumentsComesFromTheEnvironment()
    {
        final Container agent = agentContainer();
        final Matcher variables = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)").matcher(String.join(" ", agent.getArgs()));
        final List<String> names = new ArrayList<>();
        while (variables.find())
        {
            names.add(variables.group(1));
        }
        assertThat(names).contains("NODE_NAME", "NODE_IP");
        final Map<String, EnvVar> env = new HashMap<>();
        agent.getEnv().forEach(variable -> env.put(variable.getName(), variable));
        assertThat(env).containsKeys(names.toArray(String[]::new));
        assertThat(env.get("NODE_NAME").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        assertThat(env.get("NODE_IP").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.hostIP");
        assertThat(agent.getArgs()).contains("--node-name=$(NODE_NAME)", "--node-ip=$(NODE_IP)");
    }

    @Test
    void theDaemonSetRunsPrivilegedInTheNodesNetworkOnEveryNode()
    {
        final DaemonSet daemonSet = daemonSet();
        final PodSpec pod = daemonSet.getSpec().getTemplate().getSpec();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
        assertThat(pod.getPriorityClassName()).isEqualTo("system-node-critical");
        assertThat(pod.getTolerations()).anySatisfy(toleration ->
        {
            assertThat(toleration.getOperator()).isEqualTo("Exists");
            assertThat(toleration.getKey()).isNull();
            assertThat(toleration.getEffect()).isNull();
        });
        assertThat(agentContainer().getSecurityContext().getPrivileged()).isTrue();
        assertThat(daemonSet.getSpec().getUpdateStrategy().getType()).isEqualTo("RollingUpdate");
        assertThat(daemonSet.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isEqualTo(1);
        assertThat(daemonSet.getSpec().getSelector().getMatchLabels())
            .isEqualTo(daemonSet.getSpec().getTemplate().getMetadata().getLabels());
        assertThat(pod.getServiceAccountName()).isEqualTo(serviceAccountBound());

        final Container agent = agentContainer();
        assertThat(List.of(agent.getStartupProbe(), agent.getLivenessProbe(), agent.getReadinessProbe()))
            .allSatisfy(probe -> assertThat(probe.getHttpGet().getPort().getIntVal())
                .as("the agent's --healthz-address default").isEqualTo(healthzPortDefault()));
        assertThat(agent.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        // an API server outage fails /healthz (the node leaves load balancers) but must not restart the agent
        assertThat(agent.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/livez");
        assertThat(agent.getResources().getRequests()).containsKeys("cpu", "memory");
    }

    /** The port of {@code switchboard agent --healthz-address}'s default, as picocli reads it. */
    private static int healthzPortDefault()
    {
        final String address = new CommandLine(new SwitchboardCommand()).getSubcommands().get("agent")
            .getCommandSpec().findOption("--healthz-address").defaultValue();
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }

    @Test
    void theVolumesGiveTheAgentBpffsCgroupsStateAndShm()
    {
        final PodSpec pod = daemonSet().getSpec().getTemplate().getSpec();
        final Map<String, Volume> volumes = new HashMap<>();
        pod.getVolumes().forEach(volume -> volumes.put(volume.getName(), volume));
        final Map<String, VolumeMount> mounts = new HashMap<>();
        agentContainer().getVolumeMounts().forEach(mount -> mounts.put(mount.getMountPath(), mount));
        assertThat(mounts).containsKeys("/sys/fs/bpf", "/sys/fs/cgroup", "/dev/shm", "/var/lib/switchboard", "/lib/modules");
        mounts.values().forEach(mount -> assertThat(volumes).containsKey(mount.getName()));

        final VolumeMount bpffs = mounts.get("/sys/fs/bpf");
        assertThat(bpffs.getMountPropagation()).isEqualTo("Bidirectional");
        assertThat(volumes.get(bpffs.getName()).getHostPath().getPath()).isEqualTo("/sys/fs/bpf");
        assertThat(volumes.get(bpffs.getName()).getHostPath().getType()).isEqualTo("DirectoryOrCreate");
        assertThat(volumes.get(mounts.get("/sys/fs/cgroup").getName()).getHostPath().getPath()).isEqualTo("/sys/fs/cgroup");
        assertThat(volumes.get(mounts.get("/var/lib/switchboard").getName()).getHostPath().getPath())
            .isEqualTo("/var/lib/switchboard");
        assertThat(mounts.get("/lib/modules").getReadOnly()).isTrue();
        assertThat(volumes.get(mounts.get("/lib/modules").getName()).getHostPath().getPath()).isEqualTo("/lib/modules");
        final Volume shm = volumes.get(mounts.get("/dev/shm").getName());
        assertThat(shm.getEmptyDir().getMedium()).isEqualTo("Memory");
        assertThat(shm.getEmptyDir().getSizeLimit().toString()).isEqualTo("64Mi");

        // The directories the agent is told to use are the mounted ones.
        final List<String> args = agentContainer().getArgs();
        assertThat(args).contains("--cgroup=/sys/fs/cgroup", "--bpffs-dir=/sys/fs/bpf/switchboard",
            "--state-dir=/var/lib/switchboard", "--aeron-dir=/dev/shm/switchboard-aeron");
    }

    @Test
    void theClusterRoleLetsTheAgentListAndWatchWhatItFollows()
    {
        final ClusterRole role = only(ClusterRole.class);
        assertThat(allows(role, "", "services", "list", "watch")).isTrue();
        assertThat(allows(role, "", "nodes", "list", "watch")).isTrue();
        assertThat(allows(role, "", "pods", "list", "watch")).isTrue();
        assertThat(allows(role, "discovery.k8s.io", "endpointslices", "list", "watch")).isTrue();

        final ClusterRoleBinding binding = only(ClusterRoleBinding.class);
        assertThat(binding.getRoleRef().getKind()).isEqualTo("ClusterRole");
        assertThat(binding.getRoleRef().getName()).isEqualTo(role.getMetadata().getName());
        assertThat(binding.getSubjects()).anySatisfy(subject ->
        {
            assertThat(subject.getKind()).isEqualTo("ServiceAccount");
            assertThat(subject.getName()).isEqualTo(daemonSet().getSpec().getTemplate().getSpec().getServiceAccountName());
            assertThat(subject.getNamespace()).isEqualTo(daemonSet().getMetadata().getNamespace());
        });
    }

    @Test
    void theImageRunsTheShadedJarItCopies() throws IOException
    {
        // deploy/build-image writes the agent's layer as a Containerfile on top of its local base
        final List<String> lines = Files.readAllLines(deploy.resolve("build-image"));
        final String entrypoint = lines.stream().filter(line -> line.startsWith("ENTRYPOINT ")).reduce((a, b) -> b)
            .orElseThrow();
        final List<String> exec = SERIALIZATION.unmarshal(entrypoint.substring("ENTRYPOINT ".length()), List.class);
        assertThat(exec).containsExactly("java", "--enable-native-access=ALL-UNNAMED", "-jar",
            "/opt/switchboard/switchboard.jar");
        final String jar = exec.getLast();
        assertThat(lines).as("the jar is copied where the entry point runs it")
            .contains("COPY switchboard.jar " + jar);
        assertThat(lines.stream().filter(line -> line.startsWith("FROM "))).as("no base image from a registry")
            .containsExactly("FROM $base");
        assertThat(lines).anyMatch(line -> line.startsWith("base=\"localhost/switchboard-base:"));

        // The jar is bin/jar's: manager/target/switchboard.jar, the shade plugin's finalName, whose manifest's
        // Main-Class is the CLI with the `agent` subcommand.
        assertThat(Files.readString(repositoryRoot().resolve("bin/jar")))
            .contains("jar=\"$top/manager/target/switchboard.jar\"").contains("-pl manager -am package");
        final String pom = Files.readString(repositoryRoot().resolve("manager/pom.xml"));
        assertThat(pom).contains("<finalName>switchboard</finalName>")
            .contains("<mainClass>" + SwitchboardCommand.class.getName() + "</mainClass>");
    }

    private static DaemonSet daemonSet()
    {
        return only(DaemonSet.class);
    }

    private static Container agentContainer()
    {
        final List<Container> containers = daemonSet().getSpec().getTemplate().getSpec().getContainers();
        assertThat(containers).hasSize(1);
        return containers.getFirst();
    }

    private static String serviceAccountBound()
    {
        return objects.stream().filter(object -> "ServiceAccount".equals(object.getKind()))
            .map(object -> object.getMetadata().getName()).findFirst().orElseThrow();
    }

    private static <T extends HasMetadata> T only(final Class<T> type)
    {
        final List<T> found = objects.stream().filter(type::isInstance).map(type::cast).toList();
        assertThat(found).as(type.getSimpleName()).hasSize(1);
        return found.getFirst();
    }

    private static boolean allows(final ClusterRole role, final String group, final String resource, final String... verbs)
    {
        for (final String verb : verbs)
        {
            boolean allowed = false;
            for (final PolicyRule rule : role.getRules())
            {
                allowed |= matches(rule.getApiGroups(), group) && matches(rule.getResources(), resource)
                    && matches(rule.getVerbs(), verb);
            }
            if (!allowed)
            {
                return false;
            }
        }
        return true;
    }

    private static boolean matches(final List<String> values, final String value)
    {
        return null != values && (values.contains(value) || values.contains("*"));
    }

    /** Paths of fields the model did not know (fabric8 keeps them in {@code additionalProperties}). */
    static List<String> unknownFields(final Object object)
    {
        final List<String> unknown = new ArrayList<>();
        walk(object, object.getClass().getSimpleName(), unknown, Collections.newSetFromMap(new IdentityHashMap<>()));
        return unknown;
    }

    private static void walk(final Object value, final String path, final List<String> unknown, final Set<Object> seen)
    {
        switch (value)
        {
            case null -> { }
            case Collection<?> items -> items.forEach(item -> walk(item, path, unknown, seen));
            case Map<?, ?> map -> map.values().forEach(item -> walk(item, path, unknown, seen));
            default ->
            {
                if (!value.getClass().getName().startsWith("io.fabric8.") || !seen.add(value))
                {
                    return;
                }
                for (Class<?> type = value.getClass(); null != type && Object.class != type; type = type.getSuperclass())
                {
                    for (final Field field : type.getDeclaredFields())
                    {
                        if (Modifier.isStatic(field.getModifiers()))
                        {
                            continue;
                        }
                        field.setAccessible(true);
                        final Object fieldValue;
                        try
                        {
                            fieldValue = field.get(value);
                        }
                        catch (final IllegalAccessException e)
                        {
                            throw new AssertionError(e);
                        }
                        if ("additionalProperties".equals(field.getName()) && fieldValue instanceof Map<?, ?> extra)
                        {
                            extra.keySet().forEach(key -> unknown.add(path + "." + key));
                        }
                        else
                        {
                            walk(fieldValue, path + "." + field.getName(), unknown, seen);
                        }
                    }
                }
            }
        }
    }

    private static Path repositoryRoot()
    {
        for (Path directory = Path.of("").toAbsolutePath(); null != directory; directory = directory.getParent())
        {
            if (Files.isDirectory(directory.resolve("deploy")) && Files.isRegularFile(directory.resolve("manager/pom.xml")))
            {
                return directory;
            }
        }
        throw new AssertionError("no repository root with deploy/ above " + Path.of("").toAbsolutePath());
    }
}
