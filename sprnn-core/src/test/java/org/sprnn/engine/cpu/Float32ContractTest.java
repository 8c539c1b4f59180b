package org.sprnn.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The float32 contract ({@link org.sprnn.engine.Float32Range}) held by every CPU engine: values float32
 * cannot hold are refused on the way in, a state that overflows is an error naming the layer and step, and
 * runs whose arrays would not fit are refused with the sizes. (The GPU engines' side runs in {@code sprnn
 * selftest} on the GPU.)
 */
class Float32ContractTest {

    private static Tensor t(int[] shape, double... v) {
        return new Tensor(shape, v);
    }

    /** cpu-reference, cpu with the Vector API (as the JVM has it), cpu scalar; 1 and 2 threads. */
    private static List<Supplier<Engine>> engines(RnnModel m) {
        List<Supplier<Engine>> out = new ArrayList<>();
        out.add(() -> new CpuReferenceEngine(m));
        out.add(() -> new CpuEngine(m, 1));
        out.add(() -> new CpuEngine(m, 2, false, 1));
        out.add(() -> new CpuEngine(m, 2));
        return out;
    }

    /** ReLU, 1 input, {@code hidden} units, each layer's W_ih given, W_hh and biases zero. */
    private static RnnModel relu(int hidden, double[]... wIh) {
        double[][] pairs = new double[2 * wIh.length][];
        for (int k = 0; k < wIh.length; k++) {
            pairs[2 * k] = wIh[k];
            pairs[2 * k + 1] = new double[hidden * hidden];
        }
        return reluWithRecurrence(hidden, pairs);
    }

    /** ReLU, 1 input, {@code hidden} units, layer k's W_ih and W_hh given as {@code wIhHh[2k]}, {@code wIhHh[2k + 1]}, biases zero. */
    private static RnnModel reluWithRecurrence(int hidden, double[]... wIhHh) {
        List<Layer> layers = new ArrayList<>();
        int in = 1;
        for (int k = 0; k < wIhHh.length; k += 2) {
            layers.add(new Layer(t(new int[] {hidden, in}, wIhHh[k]), t(new int[] {hidden, hidden}, wIhHh[k + 1]),
                    new Tensor(new int[] {hidden}, new double[hidden]), new Tensor(new int[] {hidden}, new double[hidden])));
            in = hidden;
        }
        return new RnnModel(CellType.RNN_RELU, layers);
    }

    @Test
    void reluOverflowInTheLastLayerNamesLayerStepAndUnitInEveryEngine() {
        // unit 1 accumulates its input: h = relu(x + h_prev); with x = 1.5e38 from step 1 in batch element 1, h is 4.5e38 at step 3
        RnnModel m = reluWithRecurrence(2, new double[] {1, 1}, new double[] {0, 0, 0, 1});
        Tensor x = t(new int[] {4, 2, 1}, 1, 1, 1, 1.5e38, 1, 1.5e38, 1, 1.5e38);
        for (Supplier<Engine> s : engines(m)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(x, null, null)).as(e.name()).isInstanceOf(SprnnException.class)
                        .hasMessageStartingWith("overflow: layer 0's hidden state at step 3 (batch element 1, unit 1) is ")
                        .hasMessageContaining("beyond float32's range");
                if (e instanceof CpuEngine) {
                    assertThatThrownBy(() -> e.runFloat(FloatTensor.of(x), null, null, null)).as(e.name() + " runFloat")
                            .hasMessageStartingWith("overflow: layer 0's hidden state at step 3 (batch element 1, unit 1) is Infinity");
                }
                // the engine stays usable
                RnnOutput ok = e.run(t(new int[] {1, 1, 1}, 0.5), null, null);
                assertThat(ok.output().data()).as(e.name()).containsExactly(0.5, 0.5);
            }
        }
    }

    @Test
    void overflowInALowerLayerThatTheNextReluHidesIsStillAnError() {
        // layer 0: unit 0 accumulates x (4.5e38 at step 2); layer 1 maps unit 0 through -1 (relu(-inf) = 0) and passes unit 1
        RnnModel m = reluWithRecurrence(2, new double[] {1, 0.5}, new double[] {1, 0, 0, 0},
                new double[] {-1, 0, 0, 1}, new double[4]);
        Tensor x = t(new int[] {3, 1, 1}, 1.5e38, 1.5e38, 1.5e38);
        for (Supplier<Engine> s : engines(m)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(x, null, null)).as(e.name())
                        .hasMessageStartingWith("overflow: layer 0's hidden state at step 2 (batch element 0, unit 0) is ");
            }
        }
    }

    @Test
    void anInputProjectionBeyondFloat32IsAnErrorEvenWhereTheCellWouldSaturate() {
        // tanh of 2 * 3e38: a float32 projection is +inf and tanh(inf) = 1, which hides the overflow
        RnnModel one = new RnnModel(CellType.RNN_TANH, List.of(new Layer(t(new int[] {1, 1}, 2), t(new int[] {1, 1}, 0),
                t(new int[] {1}, 0), t(new int[] {1}, 0))));
        Tensor big = t(new int[] {2, 1, 1}, 1, -3e38);
        for (Supplier<Engine> s : engines(one)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(big, null, null)).as(e.name())
                        .hasMessageStartingWith("overflow: layer 0's input projection (W_ih x + b_ih) at step 1 (batch element 0, gate row 0) is -");
            }
        }
        // an LSTM's g gate (PyTorch's row 2H + u) of unit 1, batch element 1, named in PyTorch's order
        int h = 2;
        double[] wIh = new double[4 * h];
        wIh[2 * h + 1] = 4;
        RnnModel lstm = new RnnModel(CellType.LSTM, List.of(new Layer(t(new int[] {4 * h, 1}, wIh), new Tensor(new int[] {4 * h, h}, new double[4 * h * h]),
                new Tensor(new int[] {4 * h}, new double[4 * h]), new Tensor(new int[] {4 * h}, new double[4 * h]))));
        Tensor x = t(new int[] {2, 2, 1}, 1, 1, 1, 1e38);
        for (Supplier<Engine> s : engines(lstm)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(x, null, null)).as(e.name())
                        .hasMessageStartingWith("overflow: layer 0's input projection (W_ih x + b_ih) at step 1 (batch element 1, gate row 5) is ");
            }
        }
        // a recurrent product beyond float32 (W_hh h0 = 10 x 3e38), which tanh would map to 1
        RnnModel rec = new RnnModel(CellType.RNN_TANH, List.of(new Layer(t(new int[] {1, 1}, 1), t(new int[] {1, 1}, 10),
                t(new int[] {1}, 0), t(new int[] {1}, 0))));
        for (Supplier<Engine> s : engines(rec)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(t(new int[] {2, 1, 1}, 0.5, 0.5), t(new int[] {1, 1, 1}, 3e38), null)).as(e.name())
                        .hasMessageStartingWith("overflow: layer 0's recurrent product (W_hh h + b_hh) at step 0 (batch element 0, gate row 0) is ");
            }
        }
        // +inf and -inf from two inputs: float64 sums them to 0; the float32 engines refuse rather than guess
        RnnModel two = new RnnModel(CellType.RNN_TANH, List.of(new Layer(t(new int[] {1, 2}, 2, -2), t(new int[] {1, 1}, 0),
                t(new int[] {1}, 0), t(new int[] {1}, 0))));
        Tensor both = t(new int[] {1, 1, 2}, 3e38, 3e38);
        try (Engine ref = new CpuReferenceEngine(two)) {
            assertThat(ref.run(both, null, null).output().data()).containsExactly(0.0);
        }
        for (Supplier<Engine> s : engines(two).subList(1, 4)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(both, null, null)).as(e.name())
                        .hasMessageStartingWith("overflow: layer 0's input projection (W_ih x + b_ih) at step 0 (batch element 0, gate row 0) is ");
            }
        }
    }

    @Test
    void valuesFloat32CannotHoldAreRefusedOnTheWayInAsOutOfRangeNotAsNonFinite() {
        RnnModel m = relu(2, new double[] {1, 2});
        Tensor x = t(new int[] {1, 1, 1}, 1e300);
        Tensor h0 = t(new int[] {1, 1, 2}, 0, -1e39);
        for (Supplier<Engine> s : engines(m)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(x, null, null)).as(e.name())
                        .hasMessage("input holds 1.0E300 at [0][0][0], beyond float32's range (|v| <= 3.4028235E38): sprnn computes in float32");
                assertThatThrownBy(() -> e.run(t(new int[] {1, 1, 1}, 1), h0, null)).as(e.name())
                        .hasMessage("h0 holds -1.0E39 at [0][0][1], beyond float32's range (|v| <= 3.4028235E38): sprnn computes in float32");
                assertThatThrownBy(() -> e.run(t(new int[] {1, 1, 1}, Double.NaN), null, null)).as(e.name())
                        .hasMessage("input holds a non-finite value (NaN) at [0][0][0]");
            }
        }
        // the largest float32 itself is accepted, also as a float64 that rounds to it
        try (Engine e = new CpuReferenceEngine(relu(2, new double[] {1, 0.5}))) {
            assertThat(e.run(t(new int[] {1, 1, 1}, 3.4028235e38), null, null).output().data()[0]).isEqualTo(3.4028235e38);
        }
        try (Engine e = new CpuReferenceEngine(relu(2, new double[] {1, 0.5}))) {
            assertThat(e.run(t(new int[] {1, 1, 1}, Float.MAX_VALUE), null, null).output().data()[0]).isEqualTo(Float.MAX_VALUE);
        }
        assertThatThrownBy(() -> relu(1, new double[] {1e300})).isInstanceOf(SprnnException.class)
                .hasMessage("weight_ih_l0 holds 1.0E300 at row 0, column 0, beyond float32's range (|v| <= 3.4028235E38): sprnn computes in float32");
    }

    @Test
    void runsWhoseArraysCannotFitAreRefusedWithTheSizesInEveryEngine() {
        // LSTM hidden 1024: 4 x 1024 gate rows per step and batch element; 2^19 steps x batch 1 need 2^31 values
        int hidden = 1024, gates = 4;
        RnnModel m = new RnnModel(CellType.LSTM, List.of(new Layer(new Tensor(new int[] {gates * hidden, 1}, new double[gates * hidden]),
                new Tensor(new int[] {gates * hidden, hidden}, new double[gates * hidden * hidden]),
                new Tensor(new int[] {gates * hidden}, new double[gates * hidden]), new Tensor(new int[] {gates * hidden}, new double[gates * hidden]))));
        Tensor x = new Tensor(new int[] {1 << 19, 1, 1}, new double[1 << 19]);
        String expected = "input of 524288 steps x batch 1 is too large for one run of this model (cell lstm, hidden 1024, input size 1): "
                + "T*B*4096 = 2147483648 values per layer, more than the " + RunInputs.MAX_VALUES_PER_LAYER;
        assertThatThrownBy(() -> RunInputs.check(m, x, null, null)).hasMessageStartingWith(expected);
        for (Supplier<Engine> s : engines(m)) {
            try (Engine e = s.get()) {
                assertThatThrownBy(() -> e.run(x, null, null)).as(e.name()).isInstanceOf(SprnnException.class).hasMessageStartingWith(expected);
            }
        }
        // one step less per 64 columns fits the check (the engines are not run on it: 8 GB of projections)
        RunInputs.check(m, new Tensor(new int[] {(1 << 19) - 64, 1, 1}, new double[(1 << 19) - 64]), null, null);
    }
}
