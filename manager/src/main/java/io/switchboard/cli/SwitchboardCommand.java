package io.switchboard.cli;

import io.switchboard.agent.AgentCommand;
import io.switchboard.agent.BuildInfo;
import io.switchboard.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/switchboard}: the one command operators use; each subcommand is a class of its own. */
@Command(
    name = "switchboard",
    mixinStandardHelpOptions = true,
    versionProvider = SwitchboardCommand.Version.class,
    description = "A Kubernetes Service dataplane: eBPF datapath, Java control plane.",
    subcommands = {AgentCommand.class, ApplyCommand.class, DeleteCommand.class, GetCommand.class,
        ExplainCommand.class, DoctorCommand.class, DemoCommand.class})
public final class SwitchboardCommand implements Runnable
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run()
    {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and exits with its code: the only place that ends the process. */
    public static void main(final String[] args)
    {
        System.exit(new CommandLine(new SwitchboardCommand()).execute(args));
    }

    /** The version and commit from the jar's manifest ({@link BuildInfo}), or "development" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider
    {
        @Override
        public String[] getVersion()
        {
            return new String[] {BuildInfo.current().toString()};
        }
    }
}
