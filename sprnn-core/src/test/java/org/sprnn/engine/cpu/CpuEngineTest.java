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
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The {@code cpu} engine against the float64 oracle over cell × hidden size × density × batch × layers ×
 * initial states, on fresh random weights and inputs. The seed is printed in every assertion message;
 * rerun one with {@code -Dsprnn.seed=N}.
 *
 * <p>Tolerance: relative error ≤ 1e-5, plus 10 × the largest distance between the oracle run on the exact
 * model and the oracle run on the model and input rounded to float32, or perturbed as float32 arithmetic perturbs them
 * (each weight within sqrt(fan-in) units of float32's last place, a few random draws).
 * For every layer of 33 units or more that distance is about 1e-7 and the bound is 1e-5 in effect; a
 * single saturated or cancelling unit (H = 1) can be so ill-conditioned that rounding the weights to
 * float32 alone moves the output by more than 1e-5, which no float32 engine can undo.
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

    static Stream<Arguments> longerSequences() {
        List<Arguments> a = new ArrayList<>();
        long n = 5000;
        for (CellType cell : CellType.values()) {
            for (int batch : new int[] {1, 3, 4, 8, 16}) {
                for (boolean vectorApi : new boolean[] {true, false}) {
                    a.add(Arguments.of(cell, batch, vectorApi, SEED + n++));
                }
            }
        }
        return a.stream();
    }

    /**
     * Sequences long enough that T*B spans several 64-column blocks of the input projection plus a
     * partial one, with the Vector API loops and with the scalar ones.
     */
    @ParameterizedTest(name = "{0} B={1} vectorApi={2}")
    @MethodSource("longerSequences")
    void agreesWithReferenceOverSeveralProjectionBlocks(CellType cell, int batch, boolean vectorApi, long seed) {
        int steps = 37, input = 45, hidden = 61, layers = 2;
        RnnModel m = SyntheticModels.random(cell, input, hidden, layers, 0.3, 0.5, seed);
        Tensor x = SyntheticModels.input(steps, batch, input, seed + 1);
        Tensor h0 = SyntheticModels.state(layers, batch, hidden, seed + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
        try (CpuEngine e = new CpuEngine(m, 2, vectorApi)) {
            assertThat(e.usesVectorApi()).isEqualTo(vectorApi);
            assertAgrees(m, x, h0, c0, e.run(x, h0, c0), String.format("cell %s I=%d H=%d density 0.3/0.5 B=%d L=%d T=%d states given vectorApi %s seed %d",
                    cell, input, hidden, batch, layers, steps, vectorApi, seed));
        }
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
                assertAgrees(m, x, null, null, e.run(x, null, null), String.format("GRU I=20 H=30 L=2 T=%d B=%d after other shapes, seed %d", s[0], s[1], SEED));
            }
        }
    }

    @Test
    void autoPrefersCpuOverReferenceAndNamesWhy() {
        RnnModel m = SyntheticModels.random(CellType.RNN_RELU, 8, 8, 1, 0.5, 1.0, SEED);
        try (EngineSelection s = EngineProvider.select(m, EngineOptions.builder().build())) {
            // a GPU engine (rank < 500) may win where one is available; cpu-reference never wins over cpu
            if (!s.engine().name().equals("cpu")) {
                assertThat(s.rejected().get("cpu")).as("chosen %s", s.engine().name()).contains("ranked below");
            }
            assertThat(s.engine().name()).isNotEqualTo("cpu-reference");
            assertThat(s.rejected().get("cpu-reference")).contains("ranked below");
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
            assertAgrees(m, x, null, null, e.run(x, null, null), "LSTM I=5 H=7 T=3 B=2 after a refused run, seed " + SEED);
        }
    }

    /**
     * One-unit chunks, so that workers take over each other's units in most steps: every cell, several
     * layers (the unit split differs per layer), given states, 2 and 3 threads, run and runFloat.
     */
    @Test
    void agreesWithReferenceWhenWorkersTakeOverEachOthersUnits() {
        long n = 7000;
        for (CellType cell : CellType.values()) {
            for (int threads : new int[] {2, 3}) {
                long seed = SEED + n++;
                int steps = 19, input = 23, hidden = 41, layers = 3, batch = 4;
                RnnModel m = SyntheticModels.random(cell, input, hidden, layers, 0.4, 0.4, seed);
                Tensor x = SyntheticModels.input(steps, batch, input, seed + 1);
                Tensor h0 = SyntheticModels.state(layers, batch, hidden, seed + 2);
                Tensor c0 = cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
                String what = String.format("cell %s I=%d H=%d density 0.4 B=%d L=%d T=%d states given threads %d chunks of 1 unit vectorApi %s seed %d",
                        cell, input, hidden, batch, layers, steps, threads, CpuEngine.VECTOR_API_PRESENT, seed);
                try (CpuEngine e = new CpuEngine(m, threads, CpuEngine.VECTOR_API_PRESENT, 1)) {
                    for (int run = 0; run < 3; run++) {
                        assertAgrees(m, x, h0, c0, e.run(x, h0, c0), "run " + run + ": " + what);
                    }
                    org.sprnn.model.FloatTensor xf = org.sprnn.model.FloatTensor.of(x);
                    var f = e.runFloat(xf, org.sprnn.model.FloatTensor.of(h0), c0 == null ? null : org.sprnn.model.FloatTensor.of(c0), null);
                    assertAgrees(m, xf.toTensor(), FloatTensorRounding.round(h0), FloatTensorRounding.round(c0),
                            new RnnOutput(f.output().toTensor(), f.hN().toTensor(), f.cN() == null ? null : f.cN().toTensor()), "runFloat: " + what);
                }
            }
        }
    }

    /** Float32-rounded copies, what runFloat's caller passes. */
    private static final class FloatTensorRounding {
        static Tensor round(Tensor t) {
            return t == null ? null : org.sprnn.model.FloatTensor.of(t).toTensor();
        }
    }

    /**
     * The engine tests input values itself, in parallel while it transposes them: a NaN or infinity in
     * any worker's features, any projection block (T*B = 70: a full and a partial block), with the
     * Vector API and without, through run and runFloat, gives the reference engine's message, and the
     * engine still works after it.
     */
    @Test
    void reportsNonFiniteInputLikeTheReference() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 40, 16, 2, 0.5, 0.5, SEED);
        Tensor clean = SyntheticModels.input(35, 2, 40, SEED + 1);
        int[][] places = {{0, 0, 0}, {3, 1, 39}, {20, 0, 21}, {34, 1, 39}, {34, 1, 0}};
        for (boolean vectorApi : CpuEngine.VECTOR_API_PRESENT ? new boolean[] {true, false} : new boolean[] {false}) {
            try (CpuEngine e = new CpuEngine(m, 2, vectorApi)) {
                for (int[] at : places) {
                    for (double bad : new double[] {Double.NaN, Double.NEGATIVE_INFINITY}) {
                        double[] d = clean.data().clone();
                        d[(at[0] * 2 + at[1]) * 40 + at[2]] = bad;
                        Tensor x = new Tensor(clean.shape(), d);
                        String what = String.format("%s at %s, vectorApi %s, seed %d", bad, java.util.Arrays.toString(at), vectorApi, SEED);
                        String expected = "input holds a non-finite value (" + bad + ") at [" + at[0] + "][" + at[1] + "][" + at[2] + "]";
                        assertThatThrownBy(() -> e.run(x, null, null)).as(what).isInstanceOf(SprnnException.class).hasMessage(expected);
                        assertThatThrownBy(() -> new CpuReferenceEngine(m).run(x, null, null)).as(what).hasMessage(expected);
                        org.sprnn.model.FloatTensor xf = org.sprnn.model.FloatTensor.of(x);
                        assertThatThrownBy(() -> e.runFloat(xf, null, null, null)).as("runFloat " + what)
                                .isInstanceOf(SprnnException.class).hasMessage("input holds a non-finite value (" + (float) bad + ") at ["
                                        + at[0] + "][" + at[1] + "][" + at[2] + "]");
                    }
                }
                assertAgrees(m, clean, null, null, e.run(clean, null, null), "tanh I=40 H=16 L=2 T=35 B=2 after refused runs, vectorApi " + vectorApi + ", seed " + SEED);
            }
        }
    }

    private static void check(CellType cell, int input, int hidden, double density, int batch, int layers,
                              boolean states, int steps, int threads, long seed) {
        RnnModel m = SyntheticModels.random(cell, input, hidden, layers, density, density, seed);
        Tensor x = SyntheticModels.input(steps, batch, input, seed + 1);
        Tensor h0 = states ? SyntheticModels.state(layers, batch, hidden, seed + 2) : null;
        Tensor c0 = states && cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
        RnnOutput got;
        try (CpuEngine e = new CpuEngine(m, threads)) {
            got = e.run(x, h0, c0);
        }
        String what = String.format("cell %s I=%d H=%d density %s B=%d L=%d T=%d states %s threads %d vectorApi %s seed %d",
                cell, input, hidden, density, batch, layers, steps, states ? "given" : "zero", threads, CpuEngine.VECTOR_API_PRESENT, seed);
        assertAgrees(m, x, h0, c0, got, what);
    }

    /** Asserts output, hN and cN against the oracle within {@link #TOLERANCE} (see the class comment). */
    static void assertAgrees(RnnModel m, Tensor x, Tensor h0, Tensor c0, RnnOutput got, String what) {
        RnnOutput ref = new CpuReferenceEngine(m).run(x, h0, c0);
        List<RnnOutput> nearby = null; // the oracle rounded to float32, then perturbed as float32 arithmetic perturbs it
        String[] names = {"output", "hN", "cN"};
        Tensor[] g = {got.output(), got.hN(), got.cN()};
        Tensor[] r = {ref.output(), ref.hN(), ref.cN()};
        for (int i = 0; i < 3; i++) {
            if (r[i] == null) {
                assertThat(g[i]).as(names[i] + " of cpu vs cpu-reference: " + what).isNull();
                continue;
            }
            double err = Accuracy.relativeError(g[i], r[i]);
            double sensitivity = 0;
            if (err > TOLERANCE) {
                if (nearby == null) { // once per call, shared by output, hN and cN
                    nearby = new ArrayList<>();
                    nearby.add(roundedReference(m, x, h0, c0));
                    // the float32 arithmetic's own roundings, as perturbations of every weight within sqrt(fan-in) units
                    // of float32's last place (a dot product's typical backward error) and of inputs and states within
                    // one: a few draws (the rounding above is a single draw at one unit)
                    java.util.SplittableRandom rnd = new java.util.SplittableRandom(SEED ^ 0x5eed);
                    for (int draw = 0; draw < 3; draw++) {
                        nearby.add(perturbedReference(m, x, h0, c0, rnd));
                    }
                }
                for (RnnOutput o : nearby) {
                    sensitivity = Math.max(sensitivity, Accuracy.relativeError(new Tensor[] {o.output(), o.hN(), o.cN()}[i], r[i]));
                }
            }
            double bound = TOLERANCE + 10 * sensitivity;
            assertThat(err).as("%s of cpu vs cpu-reference: %s; tolerance %s + 10 x float32 rounding sensitivity %s = %s",
                    names[i], what, TOLERANCE, sensitivity, bound).isLessThanOrEqualTo(bound);
        }
    }

    /** The oracle on the model, input and states rounded to float32: what a float32 engine computes with. */
    private static RnnOutput roundedReference(RnnModel m, Tensor x, Tensor h0, Tensor c0) {
        List<Layer> ls = new ArrayList<>();
        for (Layer l : m.layers()) {
            ls.add(new Layer(f32(l.wIh()), f32(l.wHh()), f32(l.bIh()), f32(l.bHh())));
        }
        return new CpuReferenceEngine(new RnnModel(m.cell(), ls)).run(f32(x), f32(h0), f32(c0));
    }

    /**
     * The oracle with each weight and bias of a layer scaled by {@code 1 + d}, {@code |d| <= sqrt(I + H + 2) 2^-24}
     * ({@code I} the layer's input size), and the input and states by {@code 1 + e}, {@code |e| <= 2^-24}, uniform.
     */
    private static RnnOutput perturbedReference(RnnModel m, Tensor x, Tensor h0, Tensor c0, java.util.SplittableRandom rnd) {
        double u = Math.scalb(1.0, -24);
        List<Layer> ls = new ArrayList<>();
        for (Layer l : m.layers()) {
            double eps = Math.sqrt(l.wIh().shape()[1] + l.wHh().shape()[1] + 2.0) * u;
            ls.add(new Layer(perturbed(l.wIh(), eps, rnd), perturbed(l.wHh(), eps, rnd), perturbed(l.bIh(), eps, rnd),
                    perturbed(l.bHh(), eps, rnd)));
        }
        return new CpuReferenceEngine(new RnnModel(m.cell(), ls)).run(perturbed(x, u, rnd), perturbed(h0, u, rnd), perturbed(c0, u, rnd));
    }

    private static Tensor perturbed(Tensor t, double eps, java.util.SplittableRandom rnd) {
        if (t == null) {
            return null;
        }
        double[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] *= 1 + eps * (2 * rnd.nextDouble() - 1);
        }
        return new Tensor(t.shape(), d);
    }

    private static Tensor f32(Tensor t) {
        return t == null ? null : Tensor.ofFloats(t.toFloats(), t.shape());
    }
}
