package org.sprnn.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The {@code cpu} engine against the float64 oracle over cell × hidden size × density × batch × layers ×
 * initial states, on fresh random weights and inputs. The seed is printed in every assertion message;
 * rerun one with {@code -Dsprnn.seed=N}.
 */
class CpuEngineTest {
    private static final double TOLERANCE = 1e-5;
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());

    static Stream<Arguments> grid() {
        List<Arguments> a = new ArrayList<>();
        long n = 0;
        for (CellType cell : CellType.values()) {
            for (int size : new int[] {1, 33, 97, 300}) {
                for (double density : new double[] {0.01, 0.3, 1.0}) {
                    for (int batch : new int[] {1, 3, 4, 8}) {
                        for (int layers : new int[] {1, 3}) {
                            for (boolean states : new boolean[] {false, true}) {
                                a.add(Arguments.of(cell, size, density, batch, layers, states, SEED + n++));
                            }
                        }
                    }
                }
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} H={1} d={2} B={3} L={4} states={5}")
    @MethodSource("grid")
    void agreesWithReference(CellType cell, int hidden, double density, int batch, int layers, boolean states, long seed) {
        int steps = 4, input = hidden + 5;
        check(cell, input, hidden, density, batch, layers, states, steps, 2, seed);
    }

    @Test
    void agreesWithReferenceForOneThreadAndMoreThreadsThanCores() {
        for (int threads : new int[] {1, 3, 5}) {
            check(CellType.LSTM, 40, 64, 0.2, 4, 2, true, 6, threads, SEED + 1000 + threads);
            check(CellType.GRU, 7, 3, 0.5, 2, 1, true, 3, threads, SEED + 2000 + threads); // fewer units than threads
        }
    }

    @Test
    void reusesBuffersAcrossRunsOfDifferentShapes() {
        RnnModel m = SyntheticModels.random(CellType.GRU, 20, 30, 2, 0.3, 0.5, SEED);
        try (CpuEngine e = new CpuEngine(m, 2)) {
            int[][] shapes = {{9, 4}, {3, 4}, {5, 2}, {12, 2}, {1, 1}};
            for (int[] s : shapes) {
                Tensor x = SyntheticModels.input(s[0], s[1], 20, SEED + s[0]);
                RnnOutput got = e.run(x, null, null);
                RnnOutput ref = new CpuReferenceEngine(m).run(x, null, null);
                assertThat(Accuracy.relativeError(got.output(), ref.output()))
                        .as("T=%d B=%d after other shapes, seed %d", s[0], s[1], SEED).isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

    @Test
    void autoPrefersCpuOverReferenceAndNamesWhy() {
        RnnModel m = SyntheticModels.random(CellType.RNN_RELU, 8, 8, 1, 0.5, 1.0, SEED);
        try (EngineSelection s = EngineProvider.select(m, EngineOptions.builder().build())) {
            assertThat(s.engine().name()).isEqualTo("cpu");
            assertThat(s.rejected()).containsKey("cpu-reference");
        }
    }

    @Test
    void closeIsIdempotentAndRunAfterCloseFails() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 4, 4, 1, 1.0, 1.0, SEED);
        CpuEngine e = new CpuEngine(m, 2);
        e.close();
        e.close();
        assertThatThrownBy(() -> e.run(SyntheticModels.input(2, 1, 4, 1), null, null))
                .isInstanceOf(SprnnException.class).hasMessageContaining("after close");
    }

    @Test
    void rejectsBadInputLikeEveryEngine() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 5, 7, 1, 0.5, 1.0, SEED);
        try (CpuEngine e = new CpuEngine(m, 2)) {
            assertThatThrownBy(() -> e.run(Tensor.zeros(3, 1, 6), null, null))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("input size is 5");
            // the engine still works after a refused run
            Tensor x = SyntheticModels.input(3, 2, 5, SEED);
            assertThat(Accuracy.relativeError(e.run(x, null, null).output(), new CpuReferenceEngine(m).run(x, null, null).output()))
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }

    private static void check(CellType cell, int input, int hidden, double density, int batch, int layers,
                              boolean states, int steps, int threads, long seed) {
        RnnModel m = SyntheticModels.random(cell, input, hidden, layers, density, density, seed);
        Tensor x = SyntheticModels.input(steps, batch, input, seed + 1);
        Tensor h0 = states ? SyntheticModels.state(layers, batch, hidden, seed + 2) : null;
        Tensor c0 = states && cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
        RnnOutput ref = new CpuReferenceEngine(m).run(x, h0, c0);
        RnnOutput got;
        try (CpuEngine e = new CpuEngine(m, threads)) {
            got = e.run(x, h0, c0);
        }
        String what = String.format("cpu vs cpu-reference: cell %s I=%d H=%d density %s B=%d L=%d T=%d states %s threads %d seed %d, tolerance %s",
                cell, input, hidden, density, batch, layers, steps, states ? "given" : "zero", threads, seed, TOLERANCE);
        assertThat(Accuracy.relativeError(got.output(), ref.output())).as("output: " + what).isLessThanOrEqualTo(TOLERANCE);
        assertThat(Accuracy.relativeError(got.hN(), ref.hN())).as("hN: " + what).isLessThanOrEqualTo(TOLERANCE);
        if (cell.hasCellState()) {
            assertThat(Accuracy.relativeError(got.cN(), ref.cN())).as("cN: " + what).isLessThanOrEqualTo(TOLERANCE);
        } else {
            assertThat(got.cN()).as("cN: " + what).isNull();
        }
    }
}
