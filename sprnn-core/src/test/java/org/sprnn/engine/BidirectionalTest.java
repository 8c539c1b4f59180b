package org.sprnn.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Bidirectional models (issue 17) on the CPU engines against their definition: the forward half is the forward
 * layers' run, the reverse half the reverse layers' run over each sequence reversed within its own length; layer
 * k+1 reads both halves. PyTorch agreement is PackedGoldenTest's.
 */
class BidirectionalTest {

    static Stream<Arguments> cellsAndEngines() {
        return Stream.of(CellType.values()).flatMap(cell -> Stream.of(Arguments.of(cell, "cpu-reference"), Arguments.of(cell, "cpu")));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cellsAndEngines")
    void oneLayerIsTwoDirectionsSideBySide(CellType cell, String engineName) {
        int steps = 7, batch = 3, in = 4, hidden = 11;
        RnnModel bi = SyntheticModels.randomBidirectional(cell, in, hidden, 1, 0.5, 1.0, 9);
        Tensor x = SyntheticModels.input(steps, batch, in, 10);
        int[] len = {7, 2, 5};
        Tensor h0 = SyntheticModels.state(2, batch, hidden, 11);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(2, batch, hidden, 12) : null;
        try (EngineSelection sel = EngineProvider.select(bi, EngineOptions.builder().engine(engineName).threads(2).build());
             Engine fwd = SequenceLengthsTest.engine(engineName, bi.singleLayer(0, 0));
             Engine rev = SequenceLengthsTest.engine(engineName, bi.singleLayer(0, 1))) {
            RnnOutput r = sel.engine().run(x, h0, c0, SequenceLengths.of(len));
            assertThat(r.output().shape()).containsExactly(steps, batch, 2 * hidden);
            assertThat(r.hN().shape()).containsExactly(2, batch, hidden);
            for (int b = 0; b < batch; b++) {
                String what = cell + " on " + engineName + ", sequence " + b + " of length " + len[b];
                Tensor xb = SequenceLengthsTest.slice(x, b, len[b]);
                RnnOutput f = fwd.run(xb, state(h0, 0, b), state(c0, 0, b));
                RnnOutput v = rev.run(BidirectionalEngine.reversed(xb, new int[] {len[b]}), state(h0, 1, b), state(c0, 1, b));
                for (int t = 0; t < steps; t++) {
                    int o = (t * batch + b) * 2 * hidden;
                    double[] got = Arrays.copyOfRange(r.output().data(), o, o + 2 * hidden);
                    double[] want = new double[2 * hidden];
                    if (t < len[b]) {
                        System.arraycopy(f.output().data(), t * hidden, want, 0, hidden);
                        System.arraycopy(v.output().data(), (len[b] - 1 - t) * hidden, want, hidden, hidden);
                    }
                    SequenceLengthsTest.agrees(engineName, got, want, "step " + t + ": " + what);
                }
                SequenceLengthsTest.agrees(engineName, state(r.hN(), 0, b).data(), f.hN().data(), "h_n forward: " + what);
                SequenceLengthsTest.agrees(engineName, state(r.hN(), 1, b).data(), v.hN().data(), "h_n reverse: " + what);
                if (c0 != null) {
                    SequenceLengthsTest.agrees(engineName, state(r.cN(), 1, b).data(), v.cN().data(), "c_n reverse: " + what);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cellsAndEngines")
    void cpuAgreesWithTheReferenceStacked(CellType cell, String ignored) {
        RnnModel bi = SyntheticModels.randomBidirectional(cell, 6, 40, 3, 0.3, 0.5, 4);
        Tensor x = SyntheticModels.input(10, 4, 6, 5);
        Tensor h0 = SyntheticModels.state(6, 4, 40, 6);
        SequenceLengths len = SequenceLengths.of(10, 4, 1, 8);
        try (EngineSelection ref = EngineProvider.select(bi, EngineOptions.builder().engine("cpu-reference").build());
             EngineSelection cpu = EngineProvider.select(bi, EngineOptions.builder().engine("cpu").threads(2).build())) {
            for (SequenceLengths l : Arrays.asList(len, null)) {
                RnnOutput r = ref.engine().run(x, h0, null, l), c = cpu.engine().run(x, h0, null, l);
                String what = cell + ", lengths " + l;
                assertThat(r.output().shape()).as(what).containsExactly(10, 4, 80);
                assertThat(r.hN().shape()).as(what).containsExactly(6, 4, 40);
                assertThat(Accuracy.relativeError(c.output(), r.output())).as("output: " + what).isLessThan(1e-5);
                assertThat(Accuracy.relativeError(c.hN(), r.hN())).as("h_n: " + what).isLessThan(1e-5);
            }
            // runFloat's default goes through run
            FloatRnnOutput f = cpu.engine().runFloat(org.sprnn.model.FloatTensor.of(x), null, null, null);
            assertThat(f.output().shape()).containsExactly(10, 4, 80);
        }
    }

    @Test
    void shapesAreCheckedAgainstTheTwoDirections() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.LSTM, 3, 5, 2, 1.0, 1.0, 1);
        assertThat(bi.stateLayers()).isEqualTo(4);
        assertThat(bi.outputSize()).isEqualTo(10);
        assertThat(bi.layer(1, 1).inputSize()).isEqualTo(10);
        Tensor x = SyntheticModels.input(4, 2, 3, 2);
        try (EngineSelection sel = EngineProvider.select(bi, EngineOptions.builder().engine("cpu").build())) {
            assertThatThrownBy(() -> sel.engine().run(x, SyntheticModels.state(2, 2, 5, 1), null)).isInstanceOf(SprnnException.class)
                    .hasMessage("h0 has shape [2, 2, 5], expected [4, 2, 5] (2 x layers, batch, hidden)");
        }
        List<Layer> fwd = bi.layers(), rev = bi.reverseLayers();
        assertThatThrownBy(() -> new RnnModel(CellType.LSTM, fwd, true, "", rev.subList(0, 1)))
                .hasMessage("bidirectional model has 2 forward layers but 1 reverse (expected weight_ih_l{k}_reverse, ... for every layer k)");
        RnnModel uni = SyntheticModels.random(CellType.LSTM, 3, 5, 2, 1.0, 1.0, 1); // layer 1 reads 5 inputs, not 10
        assertThatThrownBy(() -> new RnnModel(CellType.LSTM, uni.layers(), true, "", rev))
                .hasMessageStartingWith("weight_ih_l1 has shape [20, 5] but layer 1 takes the previous layer's two directions' hidden states");
        assertThatThrownBy(() -> new RnnModel(CellType.LSTM, fwd, true, "", uni.layers()))
                .hasMessageStartingWith("weight_ih_l1_reverse has shape [20, 5]");
    }

    @Test
    void anOverflowNamesTheLayerAndDirection() {
        Tensor one = new Tensor(new int[] {1, 1}, new double[] {1});
        Layer calm = new Layer(one, new Tensor(new int[] {1, 1}, new double[] {0.5}), Tensor.zeros(1), Tensor.zeros(1));
        Layer wild = new Layer(one, new Tensor(new int[] {1, 1}, new double[] {1e30}), Tensor.zeros(1), Tensor.zeros(1));
        RnnModel bi = new RnnModel(CellType.RNN_RELU, List.of(calm), true, "", List.of(wild));
        Tensor x = new Tensor(new int[] {5, 1, 1}, new double[] {1, 1, 1, 1, 1});
        try (EngineSelection sel = EngineProvider.select(bi, EngineOptions.builder().engine("cpu-reference").build())) {
            // the reverse run starts at step 3 (length 4): h = 1, then 1e30 + 1, then its product 1e60 at its step 2 = step 1
            assertThatThrownBy(() -> sel.engine().run(x, null, null, SequenceLengths.of(4)))
                    .hasMessageStartingWith("overflow: layer 0 (reverse)'s recurrent product (W_hh h + b_hh) at step 1 (batch element 0");
        }
    }

    /** Row r, sequence b of states {@code [R][B][H]} as {@code [1][1][H]}, or null. */
    private static Tensor state(Tensor s, int r, int b) {
        if (s == null) {
            return null;
        }
        int batch = s.dim(1), h = s.dim(2);
        return new Tensor(new int[] {1, 1, h}, Arrays.copyOfRange(s.data(), (r * batch + b) * h, (r * batch + b + 1) * h));
    }
}
