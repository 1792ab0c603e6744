package io.switchboard.bench;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The connect harness's rules and arithmetic, not its timings. */
class ConnectUnderLoadTest
{
    private static Loadgen.Run run(final long ok, final long timeouts, final long elapsedNs, final long cpuNs,
        final long... connectNs)
    {
        final Histogram connect = new Histogram(Loadgen.HIGHEST_NS, 3);
        final Histogram request = new Histogram(Loadgen.HIGHEST_NS, 3);
        for (final long ns : connectNs)
        {
            connect.recordValue(ns);
            request.recordValue(ns + 50_000);
        }
        return new Loadgen.Run(1000, connect, request, ok, 0, 0, timeouts, 0, elapsedNs, 0, 0, 20_000, cpuNs);
    }

    @Test
    void saturationIsAShortfallOfTenPercentOrAnyFailure()
    {
        assertThat(ConnectUnderLoad.saturated(1000, 1000, 0)).isFalse();
        assertThat(ConnectUnderLoad.saturated(1000, 900, 0)).isFalse();
        assertThat(ConnectUnderLoad.saturated(1000, 899.9, 0)).isTrue();
        assertThat(ConnectUnderLoad.saturated(20_000, 20_000, 1)).isTrue();
    }

    @Test
    void roundsAddUpAndCpuIsPerThousandConnections()
    {
        final ConnectUnderLoad.Totals totals = new ConnectUnderLoad.Totals(1000);
        // two rounds of 1000 connections, 1 s each; client 40 ms + servers 20 ms + ksoftirqd 2 ms per round
        totals.add(run(1000, 0, 1_000_000_000L, 40_000_000L, 100_000, 9_000_000), 20_000_000L, 2_000_000L, 1);
        totals.add(run(999, 1, 1_000_000_000L, 40_000_000L, 200_000), 20_000_000L, 2_000_000L, 0);
        final Report.ConnectLoad result = totals.result();
        assertThat(result.connections()).isEqualTo(2000);
        assertThat(result.failures()).isEqualTo(1);
        assertThat(result.timeouts()).isEqualTo(1);
        assertThat(result.achievedRate()).isEqualTo(999.5);
        assertThat(result.saturated()).isTrue(); // one timeout
        assertThat(result.cpuUsPer1k()).isEqualTo(62_000.0); // 124 ms over 2000 connections
        assertThat(result.clientUsPer1k()).isEqualTo(40_000.0);
        assertThat(result.serversUsPer1k()).isEqualTo(20_000.0);
        assertThat(result.ksoftirqdUsPer1k()).isEqualTo(2_000.0);
        assertThat(result.procStatKernelUsPer1k()).isEqualTo(20_000.0); // 2 ticks of 10 ms per round
        assertThat(result.slowConnects()).isEqualTo(1); // the 9 ms connect
        assertThat(result.synRetransmits()).isEqualTo(1);
        assertThat(result.p50()).isBetween(199.0, 201.0); // of 0.1, 9 and 0.2 ms
    }

    @Test
    void noConnectionsMeansNoCpuFigure()
    {
        assertThat(CpuTimes.microsPerThousand(5_000_000, 0)).isNull();
        assertThat(CpuTimes.microsPerThousand(5_000_000, 500)).isEqualTo(10_000.0);
    }

    @Test
    void readsSchedstatAndNetstat()
    {
        assertThat(CpuTimes.parseSchedstatNanos("4732651852 54563792058 65184\n")).isEqualTo(4_732_651_852L);
        final String netstat = "TcpExt: SyncookiesSent TCPSynRetrans TCPTimeouts\nTcpExt: 0 7 9\n" +
            "IpExt: InNoRoutes\nIpExt: 3\n";
        assertThat(ConnectUnderLoad.netstat(netstat, "TcpExt", "TCPSynRetrans")).isEqualTo(7);
        assertThat(ConnectUnderLoad.netstat(netstat, "IpExt", "InNoRoutes")).isEqualTo(3);
    }
}
