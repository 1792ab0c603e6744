package io.switchboard.agent;

import io.switchboard.netns.Names;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The agent's image as {@code deploy/build-image} makes it, from this checkout's sources (committed or not), for
 * the image's test. The shaded jar is built in a copy of the sources, as {@code bin/jar} builds it (the test
 * runs before Maven's package phase, under the build lock {@code bin/test} holds), and kept under the image cache
 * by the sources' hash, so a second run with the same sources reuses it; build-image caches the Debian root
 * filesystem, the jlinked runtime and the base layer. The image gets a tag of its own, removed by {@link #close}.
 */
final class ContainerImage implements AutoCloseable
{
    /** What the jar is built from: bin/jar's inputs; the cached jar is keyed by their contents. */
    private static final String INPUTS = "pom.xml bench/pom.xml bpf native/pom.xml native/src/main manager/pom.xml " +
        "manager/src/main";
    /** What the copy holds: the inputs with the test sources, which Maven compiles too. */
    private static final String SOURCES = "pom.xml bench/pom.xml bpf native manager";

    private final String tag;

    private ContainerImage(final String tag)
    {
        this.tag = tag;
    }

    /** Builds (or reuses) the image; the tag is {@code localhost/switchboard:test-<run name>}. */
    static ContainerImage build() throws IOException
    {
        final Path repository = Path.of(PreviousRelease.run(Path.of("."), List.of("git", "rev-parse",
            "--show-toplevel")).strip());
        final Path jar = jar(repository);
        final String tag = "localhost/switchboard:test-" + Names.next();
        PreviousRelease.run(repository, List.of(repository.resolve("deploy/build-image").toString(),
            "--jar", jar.toString(), "--tag", tag));
        return new ContainerImage(tag);
    }

    private static Path jar(final Path repository) throws IOException
    {
        final String files = "git ls-files -z -co --exclude-standard -- ";
        final String hash = PreviousRelease.run(repository, List.of("sh", "-c",
            files + INPUTS + " | xargs -0 sha256sum | sha256sum | cut -c1-16")).strip();
        final Path cache = Path.of(System.getenv().getOrDefault("SWITCHBOARD_IMAGE_CACHE",
            "/var/cache/switchboard/image"));
        final Path cached = cache.resolve("jar-" + hash + ".jar");
        if (Files.isRegularFile(cached))
        {
            return cached;
        }
        final Path source = Files.createTempDirectory("switchboard-image-");
        try
        {
            PreviousRelease.run(repository, List.of("sh", "-c",
                files + SOURCES + " | tar --null -T - -cf - | tar -x -C " + source));
            PreviousRelease.run(source, List.of("mvn", "-B", "-q", "-ntp", "-DskipTests", "-pl", "manager", "-am",
                "package"));
            Files.createDirectories(cache);
            // jars of other sources are a week's cache at most
            PreviousRelease.run(cache, List.of("find", ".", "-maxdepth", "1", "-name", "jar-*.jar", "-mtime", "+7",
                "-delete"));
            final Path partial = cache.resolve("jar-" + hash + ".partial");
            Files.copy(source.resolve("manager/target/switchboard.jar"), partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, cached, StandardCopyOption.ATOMIC_MOVE);
            return cached;
        }
        finally
        {
            PreviousRelease.run(Path.of("."), List.of("rm", "-rf", source.toString()));
        }
    }

    String tag()
    {
        return tag;
    }

    /** Removes this image's tag; the base layer and the caches stay for the next build. */
    @Override
    public void close()
    {
        try
        {
            PreviousRelease.run(Path.of("."), List.of("podman", "rmi", "--ignore", tag));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
