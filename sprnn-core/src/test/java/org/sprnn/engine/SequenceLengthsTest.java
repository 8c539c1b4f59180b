package org.sprnn.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuEngineFactory;
import org.sprnn.engine.cpu.CpuReferenceFactory;
import org.sprnn.engine.cuda.CudaEngineFactory;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.CudnnEngineFactory;
import org.sprnn.engine.cuda.SparsePersistentFactory;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Per-sequence lengths (issue 17) on the CPU engines, against the definition: a packed run of a batch equals each
 * sequence run alone for its own steps (zeros after its end, its final states those of its last step); and the
 * refusals, one line each.
 */
class SequenceLengthsTest {

    static Stream<Arguments> cellsEnginesAndSeeds() {
        return Stream.of(CellType.values()).flatMap(cell -> Stream.of("cpu-reference", "cpu")
                .flatMap(engine -> Stream.of(Arguments.of(cell, engine, 11L), Arguments.of(cell, engine, 12L))));
    }

    /** Engine {@code name} for {@code model}, 2 threads. */
    static Engine engine(String name, RnnModel model) {
        return EngineProvider.factory(name).create(model, EngineOptions.builder().engine(name).threads(2).build());
    }

    @ParameterizedTest(name = "{0} on {1}, seed {2}")
    @MethodSource("cellsEnginesAndSeeds")
    void aPackedBatchIsEachSequenceAlone(CellType cell, String engineName, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = 9, batch = 5, in = 6, hidden = 37, layers = 2;
        RnnModel model = SyntheticModels.random(cell, in, hidden, layers, 0.4, 1.0, seed);
        int[] len = new int[batch];
        for (int b = 0; b < batch; b++) {
            len[b] = 1 + rnd.nextInt(steps);
        }
        len[rnd.nextInt(batch)] = steps;
        Tensor x = SyntheticModels.input(steps, batch, in, seed + 1);
        for (int b = 0; b < batch; b++) { // padding that a run reading it would show (NaN is refused where read)
            for (int t = len[b]; t < steps; t++) {
                Arrays.fill(x.data(), (t * batch + b) * in, (t * batch + b + 1) * in, Double.NaN);
            }
        }
        Tensor h0 = SyntheticModels.state(layers, batch, hidden, seed + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
        String what = cell + " on " + engineName + ", seed " + seed + ", lengths " + Arrays.toString(len);
        try (Engine e = engine(engineName, model)) {
            RnnOutput packed = e.run(x, h0, c0, SequenceLengths.of(len));
            assertThat(packed.output().shape()).as(what).containsExactly(steps, batch, hidden);
            for (int b = 0; b < batch; b++) {
                RnnOutput alone = e.run(slice(x, b, len[b]), LengthSegments.gather(h0, new int[] {b}),
                        LengthSegments.gather(c0, new int[] {b}));
                for (int t = 0; t < steps; t++) {
                    double[] got = Arrays.copyOfRange(packed.output().data(), (t * batch + b) * hidden, (t * batch + b + 1) * hidden);
                    double[] want = t < len[b] ? Arrays.copyOfRange(alone.output().data(), t * hidden, (t + 1) * hidden) : new double[hidden];
                    agrees(engineName, got, want, "output step " + t + ", sequence " + b + ": " + what);
                }
                agrees(engineName, LengthSegments.gather(packed.hN(), new int[] {b}).data(), alone.hN().data(), "h_n of sequence " + b + ": " + what);
                if (c0 != null) {
                    agrees(engineName, LengthSegments.gather(packed.cN(), new int[] {b}).data(), alone.cN().data(), "c_n of sequence " + b + ": " + what);
                }
            }
        }
    }

    @Test
    void theCpuEngineAgreesWithTheReferenceOnAPackedStackedBatch() {
        RnnModel model = SyntheticModels.random(CellType.LSTM, 8, 70, 3, 0.2, 0.5, 5);
        Tensor x = SyntheticModels.input(12, 4, 8, 6);
        SequenceLengths len = SequenceLengths.of(12, 1, 7, 3);
        try (Engine ref = engine("cpu-reference", model); Engine cpu = engine("cpu", model)) {
            RnnOutput r = ref.run(x, null, null, len), c = cpu.run(x, null, null, len);
            assertThat(Accuracy.relativeError(c.output(), r.output())).as("output").isLessThan(1e-5);
            assertThat(Accuracy.relativeError(c.hN(), r.hN())).as("h_n").isLessThan(1e-5);
            assertThat(Accuracy.relativeError(c.cN(), r.cN())).as("c_n").isLessThan(1e-5);
        }
    }

    @Test
    void lengthsAllTEqualAPlainRun() {
        RnnModel model = SyntheticModels.random(CellType.GRU, 4, 16, 2, 0.5, 1.0, 3);
        Tensor x = SyntheticModels.input(6, 3, 4, 4);
        try (Engine e = engine("cpu-reference", model)) {
            assertThat(e.run(x, null, null, SequenceLengths.of(6, 6, 6))).isEqualTo(e.run(x, null, null));
            assertThat(e.run(x, null, null, null)).isEqualTo(e.run(x, null, null));
        }
    }

    @Test
    void batchFirstWithLengths() {
        RnnModel model = SyntheticModels.random(CellType.RNN_TANH, 4, 12, 2, 0.5, 1.0, 3);
        Tensor x = SyntheticModels.input(7, 3, 4, 4); // [T][B][I]
        SequenceLengths len = SequenceLengths.of(2, 7, 5);
        EngineOptions o = EngineOptions.builder().engine("cpu-reference").batchFirst(true).build();
        try (Engine seq = engine("cpu-reference", model); EngineSelection bf = EngineProvider.select(model, o)) {
            RnnOutput want = seq.run(x, null, null, len);
            RnnOutput got = bf.engine().run(x.transpose01(), null, null, len);
            assertThat(got.output()).isEqualTo(want.output().transpose01());
            assertThat(got.hN()).isEqualTo(want.hN());
        }
    }

    @Test
    void badLengthsAreRefusedInOneLine() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 3, 5, 1, 1.0, 1.0, 1);
        Tensor x = SyntheticModels.input(4, 2, 3, 2);
        try (Engine e = engine("cpu", model)) {
            assertThatThrownBy(() -> e.run(x, null, null, SequenceLengths.of(4, 4, 4)))
                    .isInstanceOf(SprnnException.class).hasMessage("lengths: 3 entries for a batch of 2 (expected one length per batch element)");
            assertThatThrownBy(() -> e.run(x, null, null, SequenceLengths.of(4, 5)))
                    .isInstanceOf(SprnnException.class).hasMessage("lengths[1] is 5, more than the input's 4 steps");
            x.data()[(1 * 2 + 1) * 3 + 2] = Double.POSITIVE_INFINITY; // step 1, sequence 1: read when its length is 2
            assertThat(e.run(x, null, null, SequenceLengths.of(4, 1)).output().countNonZero()).isPositive();
            assertThatThrownBy(() -> e.run(x, null, null, SequenceLengths.of(4, 2)))
                    .isInstanceOf(SprnnException.class).hasMessageStartingWith("input").hasMessageContaining("[1][1][2]");
        }
        assertThatThrownBy(() -> SequenceLengths.of(3, 0)).hasMessage("lengths[1] is 0: every sequence must have at least 1 step");
        assertThatThrownBy(() -> SequenceLengths.of()).hasMessageStartingWith("lengths: empty");
        assertThatThrownBy(() -> SequenceLengths.parse("3,x7")).hasMessage("lengths[1] is 'x7', not an integer (expected e.g. 17,256,90,3)");
        assertThatThrownBy(() -> SequenceLengths.parse("3,,4")).hasMessageStartingWith("lengths[1] is '',");
        assertThatThrownBy(() -> SequenceLengths.parse("99999999999")).hasMessageStartingWith("lengths[0] is '99999999999'");
        assertThatThrownBy(() -> SequenceLengths.parse("1,-2")).hasMessage("lengths[1] is -2: every sequence must have at least 1 step");
        assertThat(SequenceLengths.parse(" 17, 256,90 ,3").values()).containsExactly(17, 256, 90, 3);
        // ASCII digits only (Integer.parseInt alone takes a plus sign and other scripts' digits)
        assertThatThrownBy(() -> SequenceLengths.parse("+1,2")).hasMessageStartingWith("lengths[0] is '+1', not an integer");
        assertThatThrownBy(() -> SequenceLengths.parse("\u0661,2")).hasMessageStartingWith("lengths[0] is '?', not an integer");
    }

    @Test
    void anOverflowIsNamedByTheWholeBatchsStepAndElement() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 1, 1, 1, 1.0, 1.0, 1);
        model = model.withLayer(0, new org.sprnn.model.Layer(new Tensor(new int[] {1, 1}, new double[] {1}),
                new Tensor(new int[] {1, 1}, new double[] {1e30}), Tensor.zeros(1), Tensor.zeros(1)));
        Tensor x = new Tensor(new int[] {4, 2, 1}, new double[] {1, 0, 1, 0, 1, 0, 1, 0});
        for (String name : new String[] {"cpu-reference", "cpu"}) {
            try (Engine e = engine(name, model)) {
                // sequence 0 (length 4): h = 1, 1e30, 1e60: its recurrent product leaves float32 at step 2
                assertThatThrownBy(() -> e.run(x, null, null, SequenceLengths.of(4, 1))).as(name)
                        .hasMessageStartingWith("overflow: layer 0's recurrent product").hasMessageContaining("at step 2 (batch element 0");
                Tensor swapped = new Tensor(new int[] {4, 2, 1}, new double[] {0, 1, 0, 1, 0, 1, 0, 1});
                assertThatThrownBy(() -> e.run(swapped, null, null, SequenceLengths.of(1, 4))).as(name)
                        .hasMessageContaining("at step 2 (batch element 1");
                // a sequence that ends before its product overflows: no error (its later steps are not run)
                double[] h = e.run(x, null, null, SequenceLengths.of(2, 1)).hN().data();
                assertThat(h[0]).as(name).isCloseTo(1e30, org.assertj.core.data.Percentage.withPercentage(1e-5));
                assertThat(h[1]).as(name).isZero();
            }
        }
    }

    /** An engine without {@link EngineFeature#LENGTHS} (an engine of the caller's own that lists no features). */
    private static Engine featureless(String name, Engine inner) {
        return new Engine() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
                return inner.run(input, h0, c0);
            }

            @Override
            public void close() {
                inner.close();
            }
        };
    }

    @Test
    void enginesWithoutTheFeatureRefuseLengthsInOneLine() {
        RnnModel model = SyntheticModels.random(CellType.GRU, 3, 5, 1, 1.0, 1.0, 1);
        Tensor x = SyntheticModels.input(4, 2, 3, 2);
        try (Engine featureless = featureless("my-engine", engine("cpu-reference", model))) {
            assertThat(featureless.run(x, null, null, null).output().countNonZero()).isPositive();
            assertThatThrownBy(() -> featureless.run(x, null, null, SequenceLengths.of(4, 2))).isInstanceOf(SprnnException.class)
                    .hasMessage("my-engine: per-sequence lengths are not supported on this engine yet (issue 17)");
        }
    }

    @Test
    void everyEngineTakesLengthsAndBidirectionalModels() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.LSTM, 3, 5, 2, 1.0, 1.0, 1);
        EngineOptions o = EngineOptions.builder().require(EngineFeature.LENGTHS).build();
        for (EngineFactory f : java.util.List.of(new SparsePersistentFactory(), SparsePersistentFactory.dense(),
                new CudaEngineFactory(CudaRnnEngine.Kind.GEMM), new CudaEngineFactory(CudaRnnEngine.Kind.SPMM), new CudnnEngineFactory(),
                new CpuEngineFactory(), new CpuReferenceFactory())) {
            assertThat(f.features()).as(f.name()).containsExactlyInAnyOrder(EngineFeature.LENGTHS, EngineFeature.BIDIRECTIONAL);
            // no feature refusal: what is left is the factory's own reason (here, where there is no GPU, that one)
            assertThat(EngineProvider.unavailableReason(f, bi, o)).as(f.name()).isEqualTo(f.unavailableReason(bi, o));
        }
        if (org.sprnn.engine.cuda.GpuStatus.problem().isPresent()) {
            try (EngineSelection auto = EngineProvider.select(bi, o)) {
                assertThat(auto.engine().name()).isEqualTo("cpu");
                assertThat(auto.rejected().get("cuda-sparse-persistent")).doesNotContain("not supported")
                        .isEqualTo(org.sprnn.engine.cuda.GpuStatus.problem().get());
            }
        }
    }

    /** Sequence b's first n steps of {@code x [T][B][I]}, as {@code [n][1][I]}. */
    static Tensor slice(Tensor x, int b, int n) {
        int batch = x.dim(1), in = x.dim(2);
        double[] d = new double[n * in];
        for (int t = 0; t < n; t++) {
            System.arraycopy(x.data(), (t * batch + b) * in, d, t * in, in);
        }
        return new Tensor(new int[] {n, 1, in}, d);
    }

    /**
     * {@code got} equals {@code want}: bit for bit on {@code cpu-reference} (float64, the same operations); on {@code cpu}
     * within 1e-6 of the largest magnitude (its float32 sums take another order at another batch size).
     */
    static void agrees(String engine, double[] got, double[] want, String what) {
        if (engine.equals("cpu-reference")) {
            assertThat(got).as(what).containsExactly(want);
            return;
        }
        assertThat(got).as(what).hasSameSizeAs(want);
        double scale = 1e-300, worst = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            worst = Math.max(worst, Math.abs(got[i] - want[i]));
            if (want[i] == 0) {
                assertThat(got[i]).as("element " + i + " is zero: " + what).isZero();
            }
        }
        assertThat(worst / Math.max(1.0, scale)).as(what + ": largest difference " + worst).isLessThanOrEqualTo(1e-6);
    }
}
