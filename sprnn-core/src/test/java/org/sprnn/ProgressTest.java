package org.sprnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aLogGetsALineAtMostEveryFifteenSecondsAndAtTheEndWithTheTimeLeft() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream to = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Progress p = Progress.forLog("bench grid", 4, to, 0);
        p.step("a", 10 * S);   // too soon after the start: quiet
        p.step("b", 20 * S);   // 20 s after the start: a line, 2 done in 20 s, 2 left -> about 20 s
        p.step("c", 25 * S);   // 5 s after that line: quiet
        p.step("d", 40 * S);   // the last: always, no time left shown
        assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList()).containsExactly(
                "bench grid: 2/4 (50%), 20 s, about 20 s left - b",
                "bench grid: 4/4 (100%), 40 s - d");
    }

    @Test
    void durationsReadAsPeopleSayThem() {
        assertThat(Progress.duration(7.4)).isEqualTo("7 s");
        assertThat(Progress.duration(238)).isEqualTo("3 min 58 s");
        assertThat(Progress.duration(3720)).isEqualTo("1 h 02 min");
        assertThat(Progress.duration(-3)).isEqualTo("0 s");
    }
}
