package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sprnn bench sweep}: every combination of the lists, one verified and timed row per engine and point. */
class SweepCommandTest {

    @Test
    void everyCombinationGetsARowPerEngine(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "sweep", "--engines", "cpu,cpu-reference", "--cell", "gru", "--hidden", "16",
                "--layers", "1,2", "--density", "0.5", "--pruning", "per-row,per-matrix", "--batch", "2", "--steps", "3,5",
                "--reps", "20", "--warmup", "1", "--input-sets", "2", "--out-dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("[8/8] gru x2 H 16 d 0.500 per-matrix B 2 T 5: cpu ");
        List<String> csv = Files.readAllLines(dir.resolve("sweep.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(1 + 8 * 2);
        List<String> head = List.of(csv.get(0).split(","));
        assertThat(head).contains("commit", "pruning", "nonzeros", "recurrent_us_per_step_median", "full_us_per_step_median");
        int nnz = head.indexOf("nonzeros"), pruning = head.indexOf("pruning"), layers = head.indexOf("layers");
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            // W_hh of 3 gates x 16 rows x 16 columns at 50% per layer, whichever way it was pruned
            assertThat(Long.parseLong(f[nnz])).isEqualTo(Integer.parseInt(f[layers]) * 3L * 16 * 8);
            assertThat(f[pruning]).isIn("per-row", "per-matrix");
        }
        assertThat(Files.readAllLines(dir.resolve("sweep.jsonl"), StandardCharsets.UTF_8)).hasSize(16);
    }

    @Test
    void balancedAndBankBalancedPointsPruneADenseDrawInThatMode(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "sweep", "--engines", "cpu,cpu-reference", "--cell", "gru", "--hidden", "64",
                "--density", "0.5", "--pruning", "balanced,bank-balanced", "--batch", "2", "--steps", "3",
                "--reps", "20", "--warmup", "1", "--out-dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("gru x1 H 64 d 0.500 balanced B 2 T 3").contains("gru x1 H 64 d 0.500 bank-balanced B 2 T 3");
        List<String> csv = Files.readAllLines(dir.resolve("sweep.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(1 + 2 * 2);
        List<String> head = List.of(csv.get(0).split(","));
        int nnz = head.indexOf("nonzeros"), pruning = head.indexOf("pruning");
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            // 192 rows of 64: balanced keeps 1024 of each 32-row group (32 a row), bank-balanced 1 of the 2 in each bank
            assertThat(Long.parseLong(f[nnz])).as(row).isEqualTo(192L * 32);
            assertThat(f[pruning]).isIn("balanced", "bank-balanced");
        }
    }

    @Test
    void casesAreExplicitLayersEachAtEveryDensity(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "sweep", "--engines", "cpu,cpu-reference", "--case", "enc=lstm/16/2/1/5/24",
                "--case", "gru-b2=gru/32/1/2/4", "--density", "0.25,0.5", "--reps", "20", "--warmup", "0", "--input-sets", "1",
                "--out-dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("[1/4] enc: lstm x2 H 16 d 0.250 per-row B 1 T 5 I 24:").contains("[4/4] gru-b2: gru x1 H 32 d 0.500");
        List<String> csv = Files.readAllLines(dir.resolve("sweep.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(1 + 4 * 2);
        List<String> head = List.of(csv.get(0).split(","));
        int name = head.indexOf("case"), input = head.indexOf("input"), batch = head.indexOf("batch"), steps = head.indexOf("steps");
        String[] first = csv.get(1).split(",", -1), last = csv.get(csv.size() - 1).split(",", -1);
        assertThat(List.of(first[name], first[input], first[batch], first[steps])).containsExactly("enc", "24", "1", "5");
        assertThat(List.of(last[name], last[input], last[batch], last[steps])).containsExactly("gru-b2", "32", "2", "4");
    }

    @Test
    void badCasesAreRefusedInOneLine() {
        assertOneLineError(cli("bench", "sweep", "--case", "a=lstm/16/2/1"), "--case", "NAME=CELL/HIDDEN/LAYERS/BATCH/T");
        assertOneLineError(cli("bench", "sweep", "--case", "a=lstm/16/0/1/5"), "--case a", ">= 1");
        assertOneLineError(cli("bench", "sweep", "--case", "a b=lstm/16/1/1/5"), "--case", "name");
        assertOneLineError(cli("bench", "sweep", "--case", "a=lstm/16/1/1/5", "--case", "a=gru/16/1/1/5"), "given twice");
        assertOneLineError(cli("bench", "sweep", "--case", "a=lstm/16/1/1/5", "--hidden", "32"), "--hidden");
        assertOneLineError(cli("bench", "sweep", "--case", "a=conv/16/1/1/5"), "conv");
    }

    @Test
    void badListsAreRefusedInOneLine() {
        assertOneLineError(cli("bench", "sweep", "--pruning", "bbs"), "--pruning", "bbs", "bank-balanced");
        assertOneLineError(cli("bench", "sweep", "--steps", "0"), "--steps");
        assertOneLineError(cli("bench", "sweep", "--density", "2"), "--density");
        assertOneLineError(cli("bench", "sweep", "--engines", "cuda-fast"), "cuda-fast");
    }
}
