package org.sprnn.cli;

// sprnn prune --mode balanced|bank-balanced through real files: the counts the rules promise in the written model,
// inspect unchanged, the result equal to the library's, and every bad option refused in one line before any output.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;

class PruneBalancedCommandTest {
    @TempDir
    Path dir;

    private Path denseLstm() {
        RnnModel dense = SyntheticModels.random(CellType.LSTM, 40, 64, 2, 1.0, 1.0, 5); // W_hh [256][64]
        Path in = dir.resolve("lstm.safetensors");
        ModelFiles.save(dense, in, Precision.FP32); // the output is f32 too, so the values compare exactly
        return in;
    }

    private static int rowCount(Tensor w, int r) {
        int nz = 0;
        for (int c = 0; c < w.dim(1); c++) {
            nz += w.get(r, c) != 0 ? 1 : 0;
        }
        return nz;
    }

    @Test
    void balancedWritesEqualCountsPerGroupAndMatchesTheLibrary() {
        Path in = denseLstm(), out = dir.resolve("bal.safetensors");
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.1", "--mode", "balanced", "--group", "8",
                "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        RnnModel pruned = ModelFiles.load(out, null);
        RnnModel expected = Pruner.prune(ModelFiles.load(in, null), new PruneSpec(0.1, PruneSpec.Mode.BALANCED, false, 8));
        for (int k = 0; k < 2; k++) {
            Layer l = pruned.layers().get(k);
            assertThat(l.wHh()).as("layer %d as the library prunes it", k).isEqualTo(expected.layers().get(k).wHh());
            // each group of 8 rows keeps round(0.1*8*64) = 51 = 8*6 + 3: three rows of 7, five of 6
            for (int g0 = 0; g0 < 256; g0 += 8) {
                int sevens = 0, total = 0;
                for (int row = g0; row < g0 + 8; row++) {
                    int nz = rowCount(l.wHh(), row);
                    assertThat(nz).as("layer %d row %d", k, row).isIn(6, 7);
                    sevens += nz == 7 ? 1 : 0;
                    total += nz;
                }
                assertThat(total).as("layer %d group at %d", k, g0).isEqualTo(51);
                assertThat(sevens).isEqualTo(3);
            }
            assertThat(l.wIh().countNonZero()).as("W_ih untouched").isEqualTo(l.wIh().size());
        }
        CliTest.Result i = cli("inspect", "--model", out.toString());
        assertThat(i.code()).as(i.err()).isZero();
        assertThat(i.out()).contains("weight_hh_l0").contains("weight_hh_l1");
    }

    @Test
    void bankBalancedWritesTheSameCountInEveryBank() {
        Path in = denseLstm(), out = dir.resolve("bbs.npz");
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.25", "--mode", "bank-balanced",
                "--input-weights", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        // 0.25 asked, 0.5 kept (one of the two columns of every bank): said, as a note
        assertThat(r.err()).contains("note: W_hh keeps 50.0% of its weights where --density asked 25.0%",
                "= 1 weights a row in each of the 32 banks of columns c mod 32, of 2 columns each here");
        RnnModel pruned = ModelFiles.load(out, CellType.LSTM);
        for (Layer l : pruned.layers()) {
            Tensor w = l.wHh(); // 64 columns: 2 a bank, keep max(1, round(0.25*2)) = 1 of each
            for (int row = 0; row < 256; row++) {
                for (int b = 0; b < 32; b++) {
                    int nz = (w.get(row, b) != 0 ? 1 : 0) + (w.get(row, b + 32) != 0 ? 1 : 0);
                    assertThat(nz).as("row %d bank %d", row, b).isEqualTo(1);
                }
            }
            assertThat(l.wIh().countNonZero()).as("W_ih pruned too: at least one of every bank").isLessThan(l.wIh().size());
        }
    }

    @Test
    void aDensityTheInputCannotReachIsExplainedByTheInput() {
        Path in = denseLstm(), half = dir.resolve("half.safetensors"), all = dir.resolve("all.safetensors");
        assertThat(cli("prune", "--model", in.toString(), "--density", "0.5", "--output", half.toString()).code()).isZero();
        CliTest.Result r = cli("prune", "--model", half.toString(), "--density", "1", "--output", all.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("keeps 50.0% of its weights where --density asked 100.0% (the input's W_hh has only 50.0% nonzero weights)");
        CliTest.Result quiet = cli("prune", "--model", in.toString(), "--density", "0.3", "--output", all.toString());
        assertThat(quiet.err()).doesNotContain("note:");
    }

    @Test
    void aCountThatRoundsAwayFromTheDensityIsSaidWithTheModesRule() {
        Path in = denseLstm(), out = dir.resolve("row.safetensors");
        // 64 columns: per row round(0.1 x 64) = 6 of 64 = 9.4%, more than 5% off the 10% asked
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.1", "--mode", "per-row", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("note: W_hh keeps 9.4% of its weights where --density asked 10.0% "
                + "(per-row keeps max(1, round(d x 64 columns)) = 6 weights a row)");
        // 0.25 x 64 = 16 exactly: nothing to say
        CliTest.Result exact = cli("prune", "--model", in.toString(), "--density", "0.25", "--mode", "per-row", "--output", out.toString());
        assertThat(exact.err()).doesNotContain("note:");
    }

    @Test
    void theOldPerRowFlagStillWorksAndEqualsModePerRow() {
        Path in = denseLstm(), a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        assertThat(cli("prune", "--model", in.toString(), "--density", "0.2", "--per-row", "--output", a.toString()).code()).isZero();
        assertThat(cli("prune", "--model", in.toString(), "--density", "0.2", "--mode", "per-row", "--output", b.toString()).code()).isZero();
        assertThat(ModelFiles.load(a, null)).isEqualTo(ModelFiles.load(b, null));
    }

    @Test
    void badOptionsAreRefusedInOneLineBeforeAnyOutput() {
        Path in = denseLstm(), out = dir.resolve("o.safetensors");
        String[][] cases = {
            {"--mode", "bbs"},
            {"--mode", "balanced", "--group", "0"},
            {"--mode", "balanced", "--group", "-3"},
            {"--mode", "per-row", "--group", "8"},
            {"--group", "8"},
            {"--per-row", "--mode", "balanced"},
        };
        String[] named = {"--mode", "--group", "--group", "--group", "--group", "--per-row"};
        for (int c = 0; c < cases.length; c++) {
            String[] head = {"prune", "--model", in.toString(), "--density", "0.1", "--output"};
            String[] full = new String[head.length + 1 + cases[c].length];
            System.arraycopy(head, 0, full, 0, head.length);
            full[head.length] = out.toString();
            System.arraycopy(cases[c], 0, full, head.length + 1, cases[c].length);
            CliTest.Result r = cli(full);
            CliTest.assertOneLineError(r, named[c]);
            assertThat(out).as(String.join(" ", cases[c])).doesNotExist();
        }
        CliTest.Result notANumber = cli("prune", "--model", in.toString(), "--density", "0.1", "--mode", "balanced", "--group",
                "x", "--output", out.toString());
        CliTest.assertOneLineError(notANumber, "--group");
    }
}
