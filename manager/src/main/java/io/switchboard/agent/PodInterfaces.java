package io.switchboard.agent;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the pod-facing interface of a node-local endpoint from the route the kernel would use to
 * reach it ({@code ip route get}), as CNI plugins route each pod address to its veth. Answers are
 * cached: a pod address keeps its interface for its life.
 */
final class PodInterfaces
{
    private static final Pattern DEVICE = Pattern.compile("\\bdev (\\S+)");
    private final Map<InetAddress, String> cache = new HashMap<>();

    /** The interface towards {@code address}, or null when there is no route or it is loopback. */
    String interfaceFor(final InetAddress address)
    {
        final String cached = cache.get(address);
        if (null != cached)
        {
            return cached.isEmpty() ? null : cached;
        }
        final String found = lookUp(address);
        cache.put(address, null == found ? "" : found);
        return found;
    }

    private static String lookUp(final InetAddress address)
    {
        try
        {
            final Process process = new ProcessBuilder("ip", "-o", "route", "get", address.getHostAddress())
                .redirectErrorStream(true).start();
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            if (!process.waitFor(5, TimeUnit.SECONDS) || process.exitValue() != 0)
            {
                return null;
            }
            final Matcher matcher = DEVICE.matcher(output);
            if (!matcher.find() || "lo".equals(matcher.group(1)))
            {
                return null;
            }
            return matcher.group(1);
        }
        catch (final IOException ex)
        {
            return null;
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
