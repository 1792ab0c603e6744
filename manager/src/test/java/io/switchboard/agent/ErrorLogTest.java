package io.switchboard.agent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ErrorLogTest
{
    private static final long SECOND = 1_000_000_000L;

    @TempDir
    Path directory;

    @Test
    void distinctErrorsAreCountedKeptMostRecentFirstAndTheLeastRecentlySeenGoesWhenFull()
    {
        final ErrorLog errors = new ErrorLog(null, 2, line -> { });

        errors.record(ErrorLog.Kind.VALIDATION, "Service default/a", "spec.ports[0].port: out of range");
        errors.record(ErrorLog.Kind.PROGRAM, "Service port default/b:http/TCP", "all 2 service ids are in use");
        errors.record(ErrorLog.Kind.VALIDATION, "Service default/a", "spec.ports[0].port: out of range");
        errors.record(ErrorLog.Kind.DECODE, "message", "truncated: 3 bytes");

        assertThat(errors.count(ErrorLog.Kind.VALIDATION)).isEqualTo(2);
        assertThat(errors.count(ErrorLog.Kind.PROGRAM)).isEqualTo(1);
        assertThat(errors.count(ErrorLog.Kind.DECODE)).isEqualTo(1);
        final var counter = (io.prometheus.metrics.model.snapshots.CounterSnapshot)errors.metrics().collect().get(0);
        assertThat(counter.getMetadata().getName()).isEqualTo("switchboard_errors");
        assertThat(counter.getDataPoints()).extracting(point -> point.getLabels().get("kind") + "=" + point.getValue())
            .containsExactlyInAnyOrder("decode=1.0", "validation=2.0", "program=1.0", "internal=0.0");
        assertThat(errors.entries()).as("two kept: the program error was seen least recently")
            .extracting(ErrorLog.Entry::subject, ErrorLog.Entry::count)
            .containsExactly(org.assertj.core.groups.Tuple.tuple("message", 1L),
                org.assertj.core.groups.Tuple.tuple("Service default/a", 2L));
    }

    @Test
    void theFileIsWrittenAtMostOnceASecondWhenChangedAndReadsBackAsItWas()
    {
        final Path file = directory.resolve("state").resolve(ErrorLog.FILE);
        final ErrorLog errors = new ErrorLog(file, ErrorLog.CAPACITY, line -> { });
        final long start = System.nanoTime();

        assertThat(errors.writeIfDue(start)).as("nothing recorded").isZero();
        errors.record(ErrorLog.Kind.PROGRAM, "Service port default/c:http/TCP", "all 2 service ids are in use");
        assertThat(errors.writeIfDue(start)).isEqualTo(1);
        errors.record(ErrorLog.Kind.PROGRAM, "Service port default/c:http/TCP", "all 2 service ids are in use");
        assertThat(errors.writeIfDue(start + SECOND / 2)).as("within the second").isZero();
        assertThat(ErrorLog.read(file)).singleElement().extracting(ErrorLog.Entry::count).isEqualTo(1L);
        assertThat(errors.writeIfDue(start + SECOND)).isEqualTo(1);
        assertThat(errors.writeIfDue(start + 3 * SECOND)).as("unchanged since").isZero();

        final ErrorLog.Entry entry = ErrorLog.read(file).getFirst();
        assertThat(entry.kind()).isEqualTo(ErrorLog.Kind.PROGRAM);
        assertThat(entry.subject()).isEqualTo("Service port default/c:http/TCP");
        assertThat(entry.error()).isEqualTo("all 2 service ids are in use");
        assertThat(entry.count()).isEqualTo(2);
        assertThat(entry.lastSeen()).isAfterOrEqualTo(entry.firstSeen());
        assertThat(ErrorLog.read(directory.resolve("none.json"))).as("no agent wrote one yet").isEmpty();
    }

    @Test
    void aFileThatCannotBeWrittenIsSaidOnceAndNeverStopsTheAgent() throws Exception
    {
        final Path blocked = Files.writeString(directory.resolve("a-file"), "not a directory");
        final List<String> log = new ArrayList<>();
        final ErrorLog errors = new ErrorLog(blocked.resolve(ErrorLog.FILE), ErrorLog.CAPACITY, log::add);
        errors.record(ErrorLog.Kind.DECODE, "message", "truncated: 3 bytes");

        assertThat(errors.writeIfDue(System.nanoTime())).isZero();
        errors.record(ErrorLog.Kind.DECODE, "message", "truncated: 3 bytes");
        assertThat(errors.writeIfDue(System.nanoTime() + 2 * SECOND)).isZero();

        assertThat(log).singleElement().asString().contains("writing the error log", ErrorLog.FILE);
    }

    @Test
    void aRowThisReaderCannotTakeIsLeftOutNotTheWholeLog() throws Exception
    {
        final Path file = Files.writeString(directory.resolve(ErrorLog.FILE), """
            [ {"kind": "quota", "subject": "s", "error": "a kind from a newer agent", "count": 1,
               "firstSeen": "2026-12-08T01:00:00Z", "lastSeen": "2026-12-08T01:00:00Z"},
              {"kind": "decode", "subject": "message", "error": "no count"},
              {"kind": "decode", "subject": "message", "error": "truncated: 3 bytes", "count": 2,
               "firstSeen": "2026-12-08T01:00:00Z", "lastSeen": "2026-12-08T01:00:01Z"} ]
            """);

        assertThat(ErrorLog.read(file)).singleElement().extracting(ErrorLog.Entry::error).isEqualTo("truncated: 3 bytes");
    }
}
