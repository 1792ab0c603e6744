package io.switchboard.log;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LogTest
{
    @Test
    void aMessageCarriesItsLevelToTheSinkWhichTakesItOff()
    {
        assertThat(Log.level(Log.warn("programming default/web:http/TCP failed"))).isEqualTo("WARN");
        assertThat(Log.level(Log.error("agent error: boom"))).isEqualTo("ERROR");
        assertThat(Log.level("agent ready: node a")).isEqualTo("INFO");
        assertThat(Log.text(Log.warn("programming default/web:http/TCP failed")))
            .isEqualTo("programming default/web:http/TCP failed");
        assertThat(Log.text("WARNING is not a level prefix")).isEqualTo("WARNING is not a level prefix");
        assertThat(Log.level("WARNING is not a level prefix")).isEqualTo("INFO");
    }
}
