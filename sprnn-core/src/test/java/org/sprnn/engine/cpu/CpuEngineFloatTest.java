package org.sprnn.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The float32 path {@code Engine.runFloat}: the {@code cpu} engine's own implementation against the
 * oracle (run on the same float32 values, so the comparison is exactly as for {@code run}), the default
 * implementation that every other engine inherits, output-buffer reuse, and its errors. The seed is
 * printed in every assertion message; rerun one with {@code -Dsprnn.seed=N}.
 */
class CpuEngineFloatTest {
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());

    @Test
    void agreesWithReferenceForEveryCellWithReusedOutput() {
        long n = 0;
        for (CellType cell : CellType.values()) {
            for (int batch : new int[] {1, 4, 5}) {
              for (boolean vectorApi : CpuEngine.VECTOR_API_PRESENT ? new boolean[] {true, false} : new boolean[] {false}) {
                long seed = SEED + n++;
                int steps = 21, input = 37, hidden = 45, layers = 2; // 21 x 4 = 84 columns: two projection blocks
                RnnModel m = SyntheticModels.random(cell, input, hidden, layers, 0.3, 0.4, seed);
                FloatTensor out = FloatTensor.zeros(steps, batch, hidden);
                try (CpuEngine e = new CpuEngine(m, 2, vectorApi)) {
                    for (int run = 0; run < 2; run++) { // the second run overwrites the first one's output
                        FloatTensor x = FloatTensor.of(SyntheticModels.input(steps, batch, input, seed + 10 * run + 1));
                        FloatTensor h0 = FloatTensor.of(SyntheticModels.state(layers, batch, hidden, seed + 10 * run + 2));
                        FloatTensor c0 = cell.hasCellState() ? FloatTensor.of(SyntheticModels.state(layers, batch, hidden, seed + 10 * run + 3)) : null;
                        FloatRnnOutput got = e.runFloat(x, h0, c0, out);
                        assertThat(got.output()).isSameAs(out);
                        RnnOutput asDoubles = new RnnOutput(got.output().toTensor(), got.hN().toTensor(),
                                got.cN() == null ? null : got.cN().toTensor());
                        CpuEngineTest.assertAgrees(m, x.toTensor(), h0.toTensor(), c0 == null ? null : c0.toTensor(), asDoubles,
                                String.format("runFloat, run %d into a reused output: cell %s I=%d H=%d density 0.3/0.4 B=%d L=%d T=%d states given threads 2 vectorApi %s seed %d",
                                        run, cell, input, hidden, batch, layers, steps, vectorApi, seed));
                    }
                }
              }
            }
        }
    }

    @Test
    void equalsTheDoublePathOnFloatInputs() {
        RnnModel m = SyntheticModels.random(CellType.RNN_RELU, 70, 90, 1, 0.1, 0.1, SEED);
        FloatTensor x = FloatTensor.of(SyntheticModels.input(30, 4, 70, SEED + 1));
        try (CpuEngine e = new CpuEngine(m, 2)) {
            RnnOutput d = e.run(x.toTensor(), null, null);
            FloatRnnOutput f = e.runFloat(x, null, null, null);
            // same arithmetic on the same float32 values: identical up to the output's rounding to float32
            assertThat(f.output().toTensor()).as("runFloat vs run on float32 input, relu I=70 H=90 B=4 T=30 seed %d", SEED)
                    .isEqualTo(FloatTensor.of(d.output()).toTensor());
            assertThat(f.hN().data()).isEqualTo(FloatTensor.of(d.hN()).data());
            assertThat(f.cN()).isNull();
        }
    }

    @Test
    void defaultImplementationRoundsTheDoubleRun() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 9, 11, 2, 0.5, 0.5, SEED);
        FloatTensor x = FloatTensor.of(SyntheticModels.input(5, 3, 9, SEED + 1));
        FloatTensor c0 = FloatTensor.of(SyntheticModels.state(2, 3, 11, SEED + 2));
        CpuReferenceEngine ref = new CpuReferenceEngine(m);
        RnnOutput d = ref.run(x.toTensor(), null, c0.toTensor());
        FloatRnnOutput f = ref.runFloat(x, null, c0, FloatTensor.zeros(5, 3, 11));
        assertThat(f.output()).as("default runFloat on cpu-reference, lstm seed %d", SEED).isEqualTo(FloatTensor.of(d.output()));
        assertThat(f.hN()).isEqualTo(FloatTensor.of(d.hN()));
        assertThat(f.cN()).isEqualTo(FloatTensor.of(d.cN()));
        assertThatThrownBy(() -> ref.runFloat(x, null, null, FloatTensor.zeros(5, 3, 12)))
                .isInstanceOf(SprnnException.class).hasMessageContaining("output has shape [5, 3, 12], expected [5, 3, 11]");
    }

    @Test
    void rejectsBadArgumentsAndStillWorks() {
        RnnModel m = SyntheticModels.random(CellType.GRU, 6, 8, 1, 0.5, 1.0, SEED);
        try (CpuEngine e = new CpuEngine(m, 2)) {
            FloatTensor x = FloatTensor.of(SyntheticModels.input(4, 2, 6, SEED));
            assertThatThrownBy(() -> e.runFloat(x, null, null, FloatTensor.zeros(4, 2, 9)))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("output has shape [4, 2, 9], expected [4, 2, 8]");
            assertThatThrownBy(() -> e.runFloat(FloatTensor.zeros(4, 2, 5), null, null, null))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("model's input size is 6");
            assertThatThrownBy(() -> e.runFloat(x, FloatTensor.zeros(1, 3, 8), null, null))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("h0 has shape [1, 3, 8], expected [1, 2, 8]");
            float[] bad = x.data().clone();
            bad[2 * 6 + 3] = Float.NaN; // step 1, batch 0, feature 3
            assertThatThrownBy(() -> e.runFloat(new FloatTensor(x.shape(), bad), null, null, null))
                    .isInstanceOf(SprnnException.class).hasMessage("input holds a non-finite value (NaN) at [1][0][3]");
            Tensor xd = x.toTensor();
            double err = Accuracy.relativeError(e.runFloat(x, null, null, null).output().toTensor(), new CpuReferenceEngine(m).run(xd, null, null).output());
            assertThat(err).as("gru I=6 H=8 B=2 T=4 after refused runs, seed %d", SEED).isLessThanOrEqualTo(1e-5);
        }
    }
}
