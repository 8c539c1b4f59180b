package org.sprnn.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The cpu engine's own way with per-sequence lengths (lanes freeze at each sequence's end, one run at the whole batch)
 * on every inner-loop path: Vector API or scalar, batch 4 (its own kernels) or not, one worker or three handing
 * chunks of one unit over, one layer or stacked; against cpu-reference, which runs one segment per distinct length.
 */
class CpuEngineLengthsTest {

    static Stream<Arguments> cases() {
        return Stream.of(CellType.values()).flatMap(cell -> Stream.of(true, false).filter(v -> !v || CpuEngine.VECTOR_API_PRESENT)
                .flatMap(vector -> Stream.of(3, 4).flatMap(batch -> Stream.of(1, 3).flatMap(threads -> Stream.of(1, 2)
                        .map(layers -> Arguments.of(cell, vector, batch, threads, layers))))));
    }

    @ParameterizedTest(name = "{0}, vector API {1}, batch {2}, {3} threads, {4} layers")
    @MethodSource("cases")
    void freezingLanesIsThePackedRun(CellType cell, boolean vector, int batch, int threads, int layers) {
        long seed = 31 + batch + 7L * layers;
        RnnModel model = SyntheticModels.random(cell, 5, 19, layers, 0.4, 1.0, seed);
        int steps = 9;
        int[] len = batch == 4 ? new int[] {9, 2, 5, 1} : new int[] {3, 9, 6};
        Tensor x = SyntheticModels.input(steps, batch, 5, seed + 1);
        Tensor h0 = SyntheticModels.state(layers, batch, 19, seed + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(layers, batch, 19, seed + 3) : null;
        String what = cell + ", vector API " + vector + ", batch " + batch + ", " + threads + " threads, " + layers + " layers, lengths "
                + Arrays.toString(len) + ", seed " + seed;
        RnnOutput ref = new CpuReferenceEngine(model).run(x, h0, c0, SequenceLengths.of(len));
        try (CpuEngine e = new CpuEngine(model, threads, vector, threads > 1 ? 1 : 128)) {
            for (int rep = 0; rep < 2; rep++) { // the second run reuses the workspace the first left
                RnnOutput got = e.run(x, h0, c0, SequenceLengths.of(len));
                assertThat(Accuracy.relativeError(got.output(), ref.output())).as("output: " + what).isLessThan(1e-5);
                assertThat(Accuracy.relativeError(got.hN(), ref.hN())).as("h_n: " + what).isLessThan(1e-5);
                if (c0 != null) {
                    assertThat(Accuracy.relativeError(got.cN(), ref.cN())).as("c_n: " + what).isLessThan(1e-5);
                }
                double[] o = got.output().data();
                for (int t = 0; t < steps; t++) {
                    for (int b = 0; b < batch; b++) {
                        if (t >= len[b]) {
                            assertThat(Arrays.copyOfRange(o, (t * batch + b) * 19, (t * batch + b + 1) * 19)).as("step " + t + ", sequence "
                                    + b + " after its end: " + what).containsOnly(0.0);
                        }
                    }
                }
                RnnOutput plain = e.run(x, h0, c0); // and a plain run after a packed one is the plain run
                assertThat(Accuracy.relativeError(plain.output(), new CpuReferenceEngine(model).run(x, h0, c0).output()))
                        .as("plain after packed: " + what).isLessThan(1e-5);
            }
        }
    }
}
