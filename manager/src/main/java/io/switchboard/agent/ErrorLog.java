package io.switchboard.agent;

import io.switchboard.log.Log;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

/**
 * The agent's errors as data: updates it could not decode, objects it refused, service ports it could not program.
 * Each is counted by kind (for {@code /metrics}), and the distinct ones (kind, subject, error) are kept, with how
 * often and when, in a bounded log: the least recently seen goes when it is full. The agent writes the log to
 * {@value #FILE} under its state directory when it changed, at most once a second, so {@code switchboard get
 * errors} shows it without the agent's help, also after the agent stopped. Recorded and written by the agent
 * thread only; the HTTP threads read the counts.
 */
public final class ErrorLog
{
    /** The file under the state directory. */
    public static final String FILE = "errors.json";
    /** Distinct errors kept by default. */
    public static final int CAPACITY = 256;
    private static final long WRITE_INTERVAL_NS = 1_000_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What failed. */
    public enum Kind
    {
        /** An update on the wire that could not be read (truncated, unknown schema or kind, not JSON). */
        DECODE,
        /** An object refused: a field with a value the dataplane cannot take, a clash with another object. */
        VALIDATION,
        /** A service port whose maps could not be written (a map full, an id space used up). */
        PROGRAM,
        /** An update the agent failed on otherwise (a bug, or the datapath failing underneath it). */
        INTERNAL;

        public String label()
        {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One distinct error: what, about what, how often, first and last seen. */
    public record Entry(Kind kind, String subject, String error, long count, Instant firstSeen, Instant lastSeen)
    {
    }

    private final Path file;
    private final int capacity;
    private final Consumer<String> log;
    private String lastWriteError;
    /** Access order: an error seen again moves to the end; the first is the least recently seen. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicLongArray counts = new AtomicLongArray(Kind.values().length);
    private boolean changed;
    private long lastWriteNs;

    /**
     * @param file     where the log is written; null: kept in memory only.
     * @param capacity how many distinct errors are kept.
     * @param log      told when the file cannot be written (once per distinct reason).
     */
    public ErrorLog(final Path file, final int capacity, final Consumer<String> log)
    {
        this.file = file;
        this.capacity = capacity;
        this.log = log;
        this.lastWriteNs = System.nanoTime() - WRITE_INTERVAL_NS;
    }

    /** Counts an error and keeps it among the distinct ones. */
    public void record(final Kind kind, final String subject, final String error)
    {
        counts.incrementAndGet(kind.ordinal());
        final String key = kind.ordinal() + "\u0000" + subject + "\u0000" + error;
        final Instant now = Instant.now();
        final Entry before = entries.get(key);
        entries.put(key, null == before ? new Entry(kind, subject, error, 1, now, now) :
            new Entry(kind, subject, error, before.count() + 1, before.firstSeen(), now));
        if (entries.size() > capacity)
        {
            final Iterator<Entry> eldest = entries.values().iterator();
            eldest.next();
            eldest.remove();
        }
        changed = true;
    }

    /** Errors of this kind so far (any thread). */
    public long count(final Kind kind)
    {
        return counts.get(kind.ordinal());
    }

    /** The distinct errors kept, the most recently seen first. */
    public List<Entry> entries()
    {
        final List<Entry> list = new ArrayList<>(entries.values());
        list.sort(Comparator.comparing(Entry::lastSeen).reversed());
        return list;
    }

    /**
     * Writes the file when the log changed and the last write is a second old or more; returns 1 if it wrote. A file
     * that cannot be written is said once (per reason) and tried again a second later: errors are never fatal here.
     */
    public int writeIfDue(final long nowNs)
    {
        if (!changed || null == file || nowNs - lastWriteNs < WRITE_INTERVAL_NS)
        {
            return 0;
        }
        lastWriteNs = nowNs;
        try
        {
            write();
            return 1;
        }
        catch (final UncheckedIOException ex)
        {
            if (!String.valueOf(ex.getMessage()).equals(lastWriteError))
            {
                lastWriteError = String.valueOf(ex.getMessage());
                log.accept(Log.warn(lastWriteError + ": " + ex.getCause()));
            }
            return 0;
        }
    }

    /** {@code switchboard_errors_total{kind}} for the agent's {@code /metrics}. */
    public MultiCollector metrics()
    {
        return () ->
        {
            final CounterSnapshot.Builder counter = CounterSnapshot.builder().name("switchboard_errors")
                .help("Errors by kind: decode (an update that could not be read), validation (an object refused), " +
                    "program (a service port whose maps could not be written), internal (an update the agent failed " +
                    "on otherwise). The distinct ones: switchboard get errors.");
            for (final Kind kind : Kind.values())
            {
                counter.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                    .labels(Labels.of("kind", kind.label())).value(count(kind)).build());
            }
            return new MetricSnapshots(counter.build());
        };
    }

    /** Writes the file now (replacing it whole: a reader never sees half of it). */
    public void write()
    {
        if (null == file)
        {
            return;
        }
        final List<Map<String, Object>> rows = new ArrayList<>();
        for (final Entry entry : entries())
        {
            final Map<String, Object> row = new LinkedHashMap<>();
            row.put("kind", entry.kind().label());
            row.put("subject", entry.subject());
            row.put("error", entry.error());
            row.put("count", entry.count());
            row.put("firstSeen", entry.firstSeen().toString());
            row.put("lastSeen", entry.lastSeen().toString());
            rows.add(row);
        }
        try
        {
            Files.createDirectories(file.getParent());
            final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
            {
                channel.write(ByteBuffer.wrap(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(rows)));
                channel.force(true); // on disk before the rename: a crash leaves the old log or the new, never none
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            changed = false;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("writing the error log " + file, ex);
        }
    }

    /**
     * The log an agent wrote to {@code file}, the most recently seen first; empty when there is none. A row this
     * reader cannot take (a kind a newer agent added, a field missing) is left out, not the whole log.
     */
    public static List<Entry> read(final Path file)
    {
        final List<Map<String, Object>> rows;
        try
        {
            rows = JSON.readValue(Files.readAllBytes(file), new TypeReference<>()
            {
            });
        }
        catch (final NoSuchFileException ex)
        {
            return List.of();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("reading the error log " + file, ex);
        }
        final List<Entry> entries = new ArrayList<>();
        for (final Map<String, Object> row : rows)
        {
            try
            {
                entries.add(new Entry(Kind.valueOf(String.valueOf(row.get("kind")).toUpperCase(Locale.ROOT)),
                    String.valueOf(row.get("subject")), String.valueOf(row.get("error")),
                    ((Number)row.get("count")).longValue(), Instant.parse(String.valueOf(row.get("firstSeen"))),
                    Instant.parse(String.valueOf(row.get("lastSeen")))));
            }
            catch (final RuntimeException unreadable)
            {
                // left out: see above
            }
        }
        return entries;
    }
}
