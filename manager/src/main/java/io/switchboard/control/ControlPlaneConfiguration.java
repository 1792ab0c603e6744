package io.switchboard.control;

import java.nio.file.Path;

/**
 * Where and how the control plane talks: one Aeron IPC stream per agent, in an Aeron directory that
 * only root can open.
 */
public final class ControlPlaneConfiguration
{
    /** System property naming the Aeron directory; {@code --aeron-dir} sets it. */
    public static final String AERON_DIR_PROP_NAME = "switchboard.aeron.dir";
    /** Default Aeron directory: in /dev/shm, private to root. */
    public static final Path AERON_DIR_DEFAULT = Path.of("/dev/shm/switchboard-aeron");
    /**
     * The IPC channel. 4 MiB terms: a stream's log takes 12 MiB, which fits a container's default
     * 64 MiB /dev/shm, and a message may be 512 KiB (an EndpointSlice of 1,000 endpoints in JSON).
     */
    public static final String CHANNEL = "aeron:ipc?term-length=4m";
    /** The stream desired-state updates travel on. */
    public static final int DESIRED_STATE_STREAM_ID = 1001;
    /** Fragments one poll of the agent reads at most, so one duty cycle stays short. */
    public static final int FRAGMENT_LIMIT = 64;

    private ControlPlaneConfiguration()
    {
    }

    /** The Aeron directory from {@value #AERON_DIR_PROP_NAME}, else the default. */
    public static Path aeronDirectory()
    {
        final String configured = System.getProperty(AERON_DIR_PROP_NAME);
        return null == configured ? AERON_DIR_DEFAULT : Path.of(configured);
    }
}
