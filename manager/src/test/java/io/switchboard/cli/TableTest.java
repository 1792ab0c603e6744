package io.switchboard.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TableTest
{
    @Test
    void columnsAlignUnderCapitalHeaders()
    {
        final Table table = Table.of("name", "frontend", "svcId", "flags")
            .row("default/web:http", "10.96.0.10:80/TCP", 1, List.of())
            .row("-", "198.18.0.1:30080/TCP", 12, List.of("EXTERNAL", "NODEPORT"));
        assertThat(table.text()).isEqualTo("""
            NAME               FRONTEND               SVC-ID   FLAGS
            default/web:http   10.96.0.10:80/TCP      1        <none>
            -                  198.18.0.1:30080/TCP   12       EXTERNAL,NODEPORT
            """);
    }

    @Test
    void jsonKeepsTypedValues()
    {
        final String json = Table.json(Table.of("svcId", "flags").row(3, List.of("LB")).rows());
        assertThat(json.replaceAll("\\s", "")).isEqualTo("[{\"svcId\":3,\"flags\":[\"LB\"]}]");
    }
}
