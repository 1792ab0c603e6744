package io.switchboard.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Runs the JMH benchmarks programmatically with settings short enough for the 15-minute budget. */
final class JmhSuite
{
    /** One benchmark result: label (method and params), score, error, unit. */
    record Score(String label, double score, double error, String unit)
    {
    }

    private JmhSuite()
    {
    }

    static List<Score> run(final BenchConfig config, final Path outDir) throws RunnerException
    {
        final List<Score> scores = new ArrayList<>();
        scores.addAll(run(config, outDir.resolve("jmh-map-writes.json"),
            options(config).include(MapWriteBenchmark.class.getName() + "\\.")));
        scores.addAll(run(config, outDir.resolve("jmh-maglev-build.json"),
            options(config).include(MaglevBenchmark.class.getName() + "\\.build$")));
        scores.addAll(run(config, outDir.resolve("jmh-maglev-diff.json"),
            options(config).include(MaglevBenchmark.class.getName() + "\\.(diffAfterOneChange|rebuildAndDiff)$")
                .param("backends", "10", "1000")));
        return scores;
    }

    private static ChainedOptionsBuilder options(final BenchConfig config)
    {
        return new OptionsBuilder()
            .forks(config.jmhForks())
            .warmupIterations(config.jmhWarmupIterations())
            .warmupTime(TimeValue.milliseconds(config.jmhIterationMillis()))
            .measurementIterations(config.jmhIterations())
            .measurementTime(TimeValue.milliseconds(config.jmhIterationMillis()))
            .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED")
            .shouldFailOnError(true);
    }

    private static List<Score> run(final BenchConfig config, final Path json, final ChainedOptionsBuilder options)
        throws RunnerException
    {
        final Collection<RunResult> results = new Runner(options.resultFormat(ResultFormatType.JSON)
            .result(json.toString()).build()).run();
        final List<Score> scores = new ArrayList<>();
        for (final RunResult result : results)
        {
            final var params = result.getParams();
            final StringBuilder label = new StringBuilder(params.getBenchmark()
                .substring(params.getBenchmark().lastIndexOf('.', params.getBenchmark().lastIndexOf('.') - 1) + 1));
            for (final String key : params.getParamsKeys())
            {
                label.append(' ').append(key).append('=').append(params.getParam(key));
            }
            final var primary = result.getPrimaryResult();
            scores.add(new Score(label.toString(), primary.getScore(), primary.getScoreError(),
                primary.getScoreUnit()));
        }
        return scores;
    }
}
