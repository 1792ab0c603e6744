package io.switchboard.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.Enumeration;
import java.util.jar.Attributes;
import java.util.jar.Manifest;

/**
 * What this build is, from the jar's manifest (written by the Maven build: the version and, where it was built from
 * a git checkout, the commit, its time and whether the tree had changes): for {@code switchboard -V} and the agent's
 * first log line, so an operator can tell which build runs on a node. Run from classes (tests, an IDE): development.
 *
 * @param version    the project version, or "development"
 * @param commit     the commit's abbreviated id, or null when built without git
 * @param commitTime when that commit was made (ISO 8601), or null
 * @param dirty      the tree had uncommitted changes when it was built
 */
public record BuildInfo(String version, String commit, String commitTime, boolean dirty)
{
    /** The build this class was loaded from. */
    public static BuildInfo current()
    {
        try
        {
            final Enumeration<URL> manifests = BuildInfo.class.getClassLoader().getResources("META-INF/MANIFEST.MF");
            while (manifests.hasMoreElements())
            {
                try (InputStream in = manifests.nextElement().openStream())
                {
                    final Attributes main = new Manifest(in).getMainAttributes();
                    if (null != main.getValue("Switchboard-Commit"))
                    {
                        return of(main);
                    }
                }
            }
            return new BuildInfo("development", null, null, false);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("reading the build's manifest", ex);
        }
    }

    /** From a manifest's main attributes; a value Maven left unresolved (a build without git) counts as absent. */
    static BuildInfo of(final Attributes main)
    {
        final String version = resolved(main.getValue("Implementation-Version"));
        return new BuildInfo(null == version ? "development" : version, resolved(main.getValue("Switchboard-Commit")),
            resolved(main.getValue("Switchboard-Commit-Time")), "true".equals(resolved(main.getValue("Switchboard-Dirty"))));
    }

    private static String resolved(final String value)
    {
        return null == value || value.isBlank() || value.contains("${") ? null : value;
    }

    /** e.g. "switchboard 0.1.0-SNAPSHOT (commit 64f59fd1a2b3 of 2026-12-02T17:05:00Z, with uncommitted changes)". */
    @Override
    public String toString()
    {
        return "switchboard " + version + (null == commit ? " (no commit recorded)" : " (commit " + commit +
            (null == commitTime ? "" : " of " + commitTime) + (dirty ? ", with uncommitted changes" : "") + ")");
    }
}
