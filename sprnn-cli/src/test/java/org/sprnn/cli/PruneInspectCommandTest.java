package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

/** {@code sprnn prune} and {@code sprnn inspect} on real files. */
class PruneInspectCommandTest {
    @TempDir
    Path dir;

    @Test
    void prunePerRowKeepsTheSameCountInEveryRowAndInspectShowsIt() {
        RnnModel dense = SyntheticModels.random(CellType.GRU, 12, 20, 2, 1.0, 1.0, 3);
        Path in = dir.resolve("gru.safetensors"), out = dir.resolve("gru-d25.safetensors");
        ModelFiles.save(dense, in, Precision.FP32);
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.25", "--per-row", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        RnnModel pruned = ModelFiles.load(out, null);
        assertThat(pruned.cell()).isEqualTo(CellType.GRU);
        for (var layer : pruned.layers()) {
            for (int row = 0; row < 60; row++) {
                int nz = 0;
                for (int col = 0; col < 20; col++) {
                    nz += layer.wHh().get(row, col) != 0 ? 1 : 0;
                }
                assertThat(nz).as("row %d keeps round(0.25*20) = 5", row).isEqualTo(5);
            }
            assertThat(layer.wIh().countNonZero()).as("W_ih untouched without --input-weights").isEqualTo(layer.wIh().size());
        }
        CliTest.Result i = cli("inspect", "--model", out.toString());
        assertThat(i.code()).as(i.err()).isZero();
        assertThat(i.out()).contains("weight_hh_l0").contains("weight_hh_l1").contains("25.00%");
    }

    @Test
    void pruneRejectsADensityOutsideTheRange() {
        RnnModel dense = SyntheticModels.random(CellType.RNN_TANH, 4, 6, 1, 1.0, 1.0, 3);
        Path in = dir.resolve("m.safetensors");
        ModelFiles.save(dense, in, Precision.FP32);
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0", "--output", dir.resolve("o.safetensors").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("density");
        assertThat(dir.resolve("o.safetensors")).doesNotExist();
    }

    @Test
    void pruneRejectsAnUnknownDtypeNamingTheOption() {
        RnnModel dense = SyntheticModels.random(CellType.RNN_TANH, 4, 6, 1, 1.0, 1.0, 3);
        Path in = dir.resolve("m.safetensors");
        ModelFiles.save(dense, in, Precision.FP32);
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.5", "--dtype", "int8", "--output",
                dir.resolve("o.safetensors").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--dtype").contains("int8");
    }

    @Test
    void inspectNeedsACellForNpz() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 4, 6, 1, 0.5, 1.0, 3);
        Path npz = dir.resolve("m.npz");
        org.sprnn.io.Npz.write(npz, ModelFiles.toStateDict(m), Precision.FP32, true);
        CliTest.Result bare = cli("inspect", "--model", npz.toString());
        assertThat(bare.code()).isEqualTo(2);
        assertThat(bare.err()).contains("--cell");
        CliTest.Result ok = cli("inspect", "--model", npz.toString(), "--cell", "lstm");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("weight_hh_l0");
    }
}
