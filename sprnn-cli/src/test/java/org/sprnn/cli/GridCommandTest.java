package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sprnn bench grid} on engines any machine has: every point verified, timed, auto's pick set against the fastest. */
class GridCommandTest {

    @Test
    void everyPointTimesEachEngineAndComparesAutosPick(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "grid", "--engines", "cpu", "--cell", "gru,rnn_tanh", "--hidden", "12",
                "--batch", "1,3", "--density", "0.5", "--input", "5", "--steps", "3", "--reps", "20", "--warmup", "1",
                "--slack", "10", "--out-dir", dir.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("[4/4 ").contains("auto within 1000% of the fastest at 4 of 4 points");
        String md = Files.readString(dir.resolve("grid.md"), StandardCharsets.UTF_8);
        assertThat(md).contains("| gru | 12 | 3 | 0.50 | ").contains("| rnn_tanh | 12 | 1 | 0.50 | ");
        var csv = Files.readAllLines(dir.resolve("grid.csv"), StandardCharsets.UTF_8);
        assertThat(csv.get(0)).startsWith("date,device,driver,cell,hidden");
        assertThat(csv).hasSize(1 + 4);
        assertThat(Files.readAllLines(dir.resolve("grid.jsonl"), StandardCharsets.UTF_8)).hasSize(csv.size() - 1);
        for (String row : csv.subList(1, csv.size())) {
            assertThat(row).contains(",cpu,").contains(",1.000,"); // auto (cpu on a machine without a GPU) is the fastest: ratio 1
        }
    }

    @Test
    void aGpuEngineWithoutAGpuIsInfeasibleNotAFailure() {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sprnn.engine.cuda.GpuStatus.deviceLimits().isEmpty(), "a GPU is present");
        CliTest.Result r = cli("bench", "grid", "--engines", "cuda-sparse-persistent,cpu", "--cell", "rnn_relu", "--hidden", "8",
                "--batch", "2", "--density", "1", "--input", "4", "--steps", "2", "--slack", "10");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("cuda-sparse-persistent -").contains("| – |");
    }

    @Test
    void badGridsAreRefusedInOneLine() {
        assertOneLineError(cli("bench", "grid", "--engines", "cuda-fast"), "cuda-fast");
        assertOneLineError(cli("bench", "grid", "--density", "0,0.5"), "--density");
        assertOneLineError(cli("bench", "grid", "--reps", "3"), "--reps");
        assertOneLineError(cli("bench", "grid", "--cell", "rnn_sigmoid"), "rnn_sigmoid");
    }

    @Test
    void aDeadlineKeepsTheRowsSoFarAndExitsFour(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "grid", "--engines", "cpu", "--cell", "rnn_relu", "--hidden", "8,9,10", "--batch", "1",
                "--density", "1", "--input", "3", "--steps", "2", "--slack", "10", "--deadline-s", "0", "--out-dir", dir.toString());
        assertThat(r.code()).isEqualTo(4);
        assertThat(r.err().strip()).contains("--deadline-s 0 reached after 0 of 3 points");
    }
}
