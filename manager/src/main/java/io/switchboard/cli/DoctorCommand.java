package io.switchboard.cli;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.bpf.LibbpfKernelProbe;
import io.switchboard.datapath.KernelRequirements;
import io.switchboard.libbpf.LibbpfLibrary;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code switchboard doctor}: whether this machine can run the agent. The kernel features the datapath
 * needs (the agent's own start-up check, {@link KernelRequirements}), each OK, MISSING or UNKNOWN with
 * the oldest kernel that has it, and the running kernel, libbpf, JDK, bpffs and cgroup2. Only probes:
 * throw-away programs and maps, nothing attached or pinned. Exits 1 when something required is missing
 * or could not be probed.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Check whether this machine can run the agent: kernel features, libbpf, bpffs, cgroup2. Changes nothing.")
public final class DoctorCommand implements Callable<Integer>
{
    @Option(names = {"-o", "--output"}, description = "json for JSON; text otherwise.")
    private String output;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    private final KernelProbe probe;
    private final Path mounts;

    public DoctorCommand()
    {
        this(new LibbpfKernelProbe(), Path.of("/proc/self/mounts"));
    }

    /** A doctor asking {@code probe} about the kernel and reading mounts from {@code mounts} (tests make both). */
    DoctorCommand(final KernelProbe probe, final Path mounts)
    {
        this.probe = probe;
        this.mounts = mounts;
    }

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final boolean json = "json".equals(output);
        if (null != output && !json)
        {
            spec.commandLine().getErr().println("error: unknown output format " + output + " (json, or none for text)");
            spec.commandLine().getErr().flush();
            return 1;
        }
        final List<String> problems = new ArrayList<>();
        String libbpf;
        try
        {
            libbpf = LibbpfLibrary.require();
        }
        catch (final BpfException ex)
        {
            libbpf = "MISSING";
            problems.add(ex.getMessage());
        }
        final List<String> bpffs = mountPoints("bpf");
        if (bpffs.isEmpty())
        {
            problems.add("bpffs is not mounted: mount -t bpf bpf /sys/fs/bpf");
        }
        final List<String> cgroup2 = mountPoints("cgroup2");
        if (cgroup2.isEmpty())
        {
            problems.add("no cgroup v2 hierarchy is mounted: the socket hooks need one (--cgroup)");
        }
        final Table features = Table.of("feature", "needs", "status");
        final List<String> fallbacks = new ArrayList<>();
        if (problems.isEmpty() || !"MISSING".equals(libbpf))
        {
            final KernelRequirements.Report report = KernelRequirements.check(probe);
            for (final KernelRequirements.Check check : report.checks())
            {
                final String status = switch (check.outcome())
                {
                    case PRESENT -> "OK";
                    case MISSING -> check.requirement().required() ? "MISSING" : "MISSING, fallback used";
                    case UNKNOWN -> "UNKNOWN: " + check.result().detail();
                };
                features.row(check.requirement().name(), "Linux " + check.requirement().since() + "+", status);
            }
            problems.addAll(report.problems());
            report.fallbacks().forEach(check -> fallbacks.add(check.line()));
        }
        final boolean ok = problems.isEmpty();

        final Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("kernel", "Linux " + System.getProperty("os.version") + " (" + System.getProperty("os.arch") + ")");
        machine.put("libbpf", libbpf);
        machine.put("jdk", Runtime.version() + " (" + System.getProperty("java.vendor") + ")");
        machine.put("bpffs", bpffs.isEmpty() ? "MISSING" : bpffs);
        machine.put("cgroup2", cgroup2.isEmpty() ? "MISSING" : cgroup2);
        if (json)
        {
            machine.put("features", features.rows());
            machine.put("problems", problems);
            machine.put("fallbacks", fallbacks);
            machine.put("ok", ok);
            out.print(Table.json(machine));
        }
        else
        {
            for (final Map.Entry<String, Object> entry : machine.entrySet())
            {
                final Object value = entry.getValue();
                out.printf("%-9s %s%n", entry.getKey(), value instanceof List<?> list ? String.join(", ",
                    list.stream().map(String::valueOf).toList()) : value);
            }
            out.println();
            out.print(features.text());
            out.println();
            out.println(ok ? "this machine can run the Switchboard agent" :
                "this machine cannot run the Switchboard agent as it is:");
            problems.forEach(problem -> out.println("  " + problem));
            if (!fallbacks.isEmpty())
            {
                out.println("it does without these, as said:");
                fallbacks.forEach(fallback -> out.println("  " + fallback));
            }
        }
        out.flush();
        return ok ? 0 : 1;
    }

    /** Where file systems of this type are mounted, from the mount table. */
    private List<String> mountPoints(final String type)
    {
        final List<String> points = new ArrayList<>();
        try
        {
            for (final String line : Files.readAllLines(mounts))
            {
                final String[] fields = line.split(" ");
                if (fields.length > 2 && fields[2].equals(type))
                {
                    points.add(fields[1].replace("\\040", " "));
                }
            }
        }
        catch (final IOException ex)
        {
            // no mount table: reported as not mounted
        }
        return points;
    }
}
