package io.switchboard.log;

/**
 * Log levels for the agent's one-line messages. Every part of the agent logs through a {@code Consumer<String>}
 * the command gives it; a message that is not plain information says so with {@link #warn} or {@link #error},
 * which put the level in front, and the command's sink ({@code AgentCommand.log}) prints it as
 * {@code <time> <LEVEL> switchboard: <message>}: INFO, WARN or ERROR, so operators and log pipelines can filter.
 */
public final class Log
{
    public static final String WARN = "WARN ";
    public static final String ERROR = "ERROR ";

    private Log()
    {
    }

    /** Something did not work and the agent goes on (a retry, a fallback, a refused object). */
    public static String warn(final String message)
    {
        return WARN + message;
    }

    /** Something the agent cannot go on from, or an unexpected failure. */
    public static String error(final String message)
    {
        return ERROR + message;
    }

    /** The level of a message as given to the sink: WARN, ERROR or INFO. */
    public static String level(final String message)
    {
        return message.startsWith(WARN) ? "WARN" : message.startsWith(ERROR) ? "ERROR" : "INFO";
    }

    /** The message without its level. */
    public static String text(final String message)
    {
        return message.startsWith(WARN) ? message.substring(WARN.length()) :
            message.startsWith(ERROR) ? message.substring(ERROR.length()) : message;
    }
}
