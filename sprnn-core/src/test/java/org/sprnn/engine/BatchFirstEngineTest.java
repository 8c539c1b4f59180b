package org.sprnn.engine;

// Batch-first runs (EngineOptions.batchFirst, BatchFirstEngine) on every CPU engine: the outputs are the
// sequence-first run's, element for element at [b][t][h] = [t][b][h], the states the same, and within the
// engine's tolerance of the float64 reference; shape errors speak of [B][T][I]. A 2-layer LSTM with
// B != T and given h0/c0, so that a swapped axis or a state mixed up between layouts cannot pass.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class BatchFirstEngineTest {
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());
    private static final int T = 5, B = 3, I = 6, H = 10, L = 2;

    static Stream<String> cpuEngines() {
        List<String> names = EngineProvider.factories().stream().map(EngineFactory::name).filter(n -> n.startsWith("cpu")).toList();
        assertThat(names).as("CPU engines in EngineProvider.factories()").contains("cpu", "cpu-reference");
        return names.stream();
    }

    private static RnnModel lstm() {
        return SyntheticModels.random(CellType.LSTM, I, H, L, 0.4, 1.0, SEED);
    }

    private static Engine engine(RnnModel m, String name, boolean batchFirst) {
        EngineOptions o = EngineOptions.builder().engine(name).threads(2).precision(Precision.FP32).batchHint(B).batchFirst(batchFirst).build();
        return EngineProvider.select(m, o).engine();
    }

    /** [d0][d1][n] → [d1][d0][n], element by element (independent of Tensor.transpose01). */
    private static Tensor swap(Tensor t) {
        int d0 = t.dim(0), d1 = t.dim(1), n = t.dim(2);
        double[] out = new double[t.size()];
        for (int a = 0; a < d0; a++) {
            for (int b = 0; b < d1; b++) {
                for (int k = 0; k < n; k++) {
                    out[(b * d0 + a) * n + k] = t.data()[(a * d1 + b) * n + k];
                }
            }
        }
        return new Tensor(new int[] {d1, d0, n}, out);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cpuEngines")
    void batchFirstRunIsTheSequenceFirstRunTransposed(String name) {
        RnnModel m = lstm();
        Tensor xTbi = SyntheticModels.input(T, B, I, SEED + 1);
        Tensor xBti = swap(xTbi);
        Tensor h0 = SyntheticModels.state(L, B, H, SEED + 2), c0 = SyntheticModels.state(L, B, H, SEED + 3);
        String what = "lstm I " + I + " H " + H + " L " + L + ", T " + T + ", B " + B + ", engine " + name + ", seed " + SEED;
        try (Engine seq = engine(m, name, false); Engine bf = engine(m, name, true)) {
            assertThat(bf).isInstanceOf(BatchFirstEngine.class);
            assertThat(bf.name()).isEqualTo(name);
            assertThat(bf.tolerance()).isEqualTo(seq.tolerance());

            RnnOutput s = seq.run(xTbi, h0, c0);
            RnnOutput f = bf.run(xBti, h0, c0);
            assertThat(f.output().shape()).as(what).containsExactly(B, T, H);
            assertThat(f.output()).as("output [B][T][H] is the sequence-first output transposed: " + what).isEqualTo(swap(s.output()));
            assertThat(f.hN()).as("h_n stays [L][B][H]: " + what).isEqualTo(s.hN());
            assertThat(f.cN()).as("c_n stays [L][B][H]: " + what).isEqualTo(s.cN());

            RnnOutput ref = new CpuReferenceEngine(m).run(xTbi, h0, c0);
            assertThat(Accuracy.relativeError(f.output(), swap(ref.output()))).as("against the float64 reference: " + what)
                    .isLessThanOrEqualTo(seq.tolerance());
            assertThat(Accuracy.relativeError(f.cN(), ref.cN())).as("c_n against the float64 reference: " + what)
                    .isLessThanOrEqualTo(seq.tolerance());

            FloatRnnOutput sf = seq.runFloat(FloatTensor.of(xTbi), FloatTensor.of(h0), FloatTensor.of(c0), null);
            FloatRnnOutput ff = bf.runFloat(FloatTensor.of(xBti), FloatTensor.of(h0), FloatTensor.of(c0), null);
            assertThat(ff.output().toTensor()).as("runFloat output: " + what).isEqualTo(swap(sf.output().toTensor()));
            assertThat(ff.hN()).as("runFloat h_n: " + what).isEqualTo(sf.hN());
            assertThat(ff.cN()).as("runFloat c_n: " + what).isEqualTo(sf.cN());

            FloatTensor buffer = FloatTensor.zeros(B, T, H);
            FloatRnnOutput into = bf.runFloat(FloatTensor.of(xBti), FloatTensor.of(h0), FloatTensor.of(c0), buffer);
            assertThat(into.output()).as("the caller's buffer is filled and returned: " + what).isSameAs(buffer);
            assertThat(buffer).as(what).isEqualTo(ff.output());
        }
    }

    @Test
    void shapeErrorsSpeakOfTheBatchFirstLayout() {
        RnnModel m = lstm();
        try (Engine bf = engine(m, "cpu-reference", true)) {
            assertThatThrownBy(() -> bf.run(SyntheticModels.input(B, T, I + 1, 1), null, null)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("7 features", "[B][T][I]", "input size is 6");
            assertThatThrownBy(() -> bf.run(Tensor.zeros(B, I), null, null)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("[3, 6]", "expected [B][T][I]");
            assertThatThrownBy(() -> bf.run(Tensor.zeros(0, T, I), null, null)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("need B >= 1", "[B][T][I]");
            // states are [L][B][H] with B the input's first extent: an h0 sized by T is refused
            assertThatThrownBy(() -> bf.run(SyntheticModels.input(B, T, I, 1), SyntheticModels.state(L, T, H, 1), null))
                    .isInstanceOf(SprnnException.class).hasMessageContainingAll("h0 has shape [2, 5, 10]", "expected [2, 3, 10]");
            FloatTensor x = FloatTensor.of(SyntheticModels.input(B, T, I, 1));
            assertThatThrownBy(() -> bf.runFloat(x, null, null, FloatTensor.zeros(T, B, H))).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("output has shape [5, 3, 10]", "expected [3, 5, 10]", "batch first");
            Tensor nan = SyntheticModels.input(B, T, I, 1);
            nan.data()[(2 * T + 1) * I + 4] = Double.NaN; // b 2, t 1, i 4
            assertThatThrownBy(() -> bf.run(nan, null, null)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("non-finite", "[2][1][4]");
            Tensor big = SyntheticModels.input(B, T, I, 1);
            big.data()[(2 * T + 1) * I + 4] = 1e300; // a float64 float32 cannot hold: out of range, not "non-finite"
            assertThatThrownBy(() -> bf.run(big, null, null)).isInstanceOf(SprnnException.class)
                    .hasMessage("input holds 1.0E300 at [2][1][4], beyond float32's range (|v| <= 3.4028235E38): sprnn computes in float32");
            FloatTensor inf = FloatTensor.of(nan);
            inf.data()[(2 * T + 1) * I + 4] = Float.POSITIVE_INFINITY;
            assertThatThrownBy(() -> bf.runFloat(inf, null, null, null)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll("Infinity", "[2][1][4]");
        }
    }

    @Test
    void transpose01SwapsTheFirstTwoDimensions() {
        Tensor t = new Tensor(new int[] {2, 3, 2}, new double[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        Tensor s = t.transpose01();
        assertThat(s.shape()).containsExactly(3, 2, 2);
        assertThat(s.data()).containsExactly(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11);
        assertThat(s.transpose01()).isEqualTo(t);
        assertThat(new Tensor(new int[] {2, 3}, new double[] {1, 2, 3, 4, 5, 6}).transpose01().data()).containsExactly(1, 4, 2, 5, 3, 6);
        assertThatThrownBy(() -> Tensor.zeros(4).transpose01()).isInstanceOf(SprnnException.class).hasMessageContaining("rank");

        FloatTensor f = FloatTensor.of(t);
        assertThat(f.transpose01().toTensor()).isEqualTo(s);
        FloatTensor target = FloatTensor.zeros(3, 2, 2);
        f.transpose01Into(target);
        assertThat(target.toTensor()).isEqualTo(s);
        assertThatThrownBy(() -> f.transpose01Into(FloatTensor.zeros(2, 3, 2))).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll("[2, 3, 2]", "[3, 2, 2]");
    }
}
