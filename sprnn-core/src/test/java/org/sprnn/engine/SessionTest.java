package org.sprnn.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** Streaming sessions (issue 17): a sequence fed in random chunks is one whole run; sessions are independent. */
class SessionTest {

    static Stream<Arguments> cellsEnginesAndSeeds() {
        return Stream.of(CellType.values()).flatMap(cell -> Stream.of("cpu-reference", "cpu")
                .flatMap(engine -> Stream.of(Arguments.of(cell, engine, 21L), Arguments.of(cell, engine, 22L))));
    }

    @ParameterizedTest(name = "{0} on {1}, seed {2}")
    @MethodSource("cellsEnginesAndSeeds")
    void randomChunksEqualOneWholeRun(CellType cell, String engineName, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = 23, batch = 3, in = 5, hidden = 41, layers = 2;
        RnnModel model = SyntheticModels.random(cell, in, hidden, layers, 0.3, 1.0, seed);
        Tensor x = SyntheticModels.input(steps, batch, in, seed + 1);
        Tensor h0 = SyntheticModels.state(layers, batch, hidden, seed + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(layers, batch, hidden, seed + 3) : null;
        StringBuilder chunks = new StringBuilder();
        try (Engine e = SequenceLengthsTest.engine(engineName, model)) {
            RnnOutput whole = e.run(x, h0, c0);
            double[] streamed = new double[steps * batch * hidden];
            try (Session s = e.openSession(batch, h0, c0)) {
                for (int t = 0; t < steps; ) {
                    int n = Math.min(steps - t, 1 + rnd.nextInt(6));
                    chunks.append(n).append(' ');
                    Tensor out = s.step(steps(x, t, n));
                    assertThat(out.shape()).containsExactly(n, batch, hidden);
                    System.arraycopy(out.data(), 0, streamed, t * batch * hidden, out.size());
                    t += n;
                }
                String what = cell + " on " + engineName + ", seed " + seed + ", chunks " + chunks;
                assertThat(s.steps()).as(what).isEqualTo(steps);
                // cpu-reference: bit for bit; cpu: the same float32 arithmetic from the same float32 states
                assertThat(streamed).as("outputs: " + what).containsExactly(whole.output().data());
                assertThat(s.state().hN()).as("h: " + what).isEqualTo(whole.hN());
                if (c0 != null) {
                    assertThat(s.state().cN()).as("c: " + what).isEqualTo(whole.cN());
                }
            }
        }
    }

    @Test
    void sessionsAreIndependentAndAClosedOneRefuses() {
        RnnModel model = SyntheticModels.random(CellType.LSTM, 4, 9, 1, 0.5, 1.0, 1);
        Tensor x = SyntheticModels.input(6, 2, 4, 2), y = SyntheticModels.input(6, 2, 4, 3);
        try (Engine e = SequenceLengthsTest.engine("cpu", model)) {
            RnnOutput wx = e.run(x, null, null), wy = e.run(y, null, null);
            Session a = e.openSession(2, null, null);
            Session b = e.openSession(2, null, null);
            assertThat(a.state().hN()).as("before any step, no state given: zeros").isEqualTo(Tensor.zeros(1, 2, 9));
            assertThat(a.state().cN()).isEqualTo(Tensor.zeros(1, 2, 9));
            assertThat(a.state().output()).isNull();
            for (int t = 0; t < 6; t++) { // interleaved, one step each
                a.step(steps(x, t, 1));
                b.step(steps(y, t, 1));
            }
            assertThat(a.state().hN()).isEqualTo(wx.hN());
            assertThat(b.state().hN()).isEqualTo(wy.hN());
            assertThat(a.state().output().data()).containsExactly(steps(wx.output(), 5, 1).data());
            a.close();
            a.close(); // idempotent
            assertThatThrownBy(() -> a.step(steps(x, 0, 1))).isInstanceOf(SprnnException.class)
                    .hasMessageStartingWith("session: closed (after 6 steps)");
            assertThatThrownBy(a::state).isInstanceOf(SprnnException.class).hasMessageStartingWith("session: closed");
            assertThat(b.step(steps(y, 0, 1)).shape()).containsExactly(1, 2, 9); // the other goes on
            assertThatThrownBy(() -> b.step(SyntheticModels.input(1, 3, 4, 1))).isInstanceOf(SprnnException.class)
                    .hasMessage("session: chunk has shape [1, 3, 4], expected [steps >= 1, 2, input] for a session of batch 2");
            assertThatThrownBy(() -> b.step(SyntheticModels.input(1, 2, 5, 1))).isInstanceOf(SprnnException.class)
                    .hasMessageContaining("input has 5 features per step");
            b.close();
            assertThatThrownBy(() -> e.openSession(2, SyntheticModels.state(1, 3, 9, 1), null))
                    .hasMessage("h0 has shape [1, 3, 9], expected [1, 2, 9] (layers, batch, hidden)");
            assertThatThrownBy(() -> e.openSession(2, null, SyntheticModels.state(2, 2, 9, 1)))
                    .hasMessage("c0 has shape [2, 2, 9], expected [1, 2, 9] (layers, batch, hidden)");
            assertThatThrownBy(() -> e.openSession(0, null, null)).hasMessage("session: batch must be >= 1, got 0");
        }
        // an engine without a session of its own gets the default, checked on the first step
        try (Engine plain = new Engine() {
                private final Engine inner = SequenceLengthsTest.engine("cpu-reference", model);

                @Override
                public String name() {
                    return "cuda-gemm";
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
             Session s = plain.openSession(2, null, null)) {
            assertThat(s.state().hN()).as("the default knows no shape before the first step").isNull();
            s.step(steps(x, 0, 4));
            s.step(steps(x, 4, 2));
            try (Engine ref = SequenceLengthsTest.engine("cpu-reference", model)) {
                assertThat(s.state().hN()).isEqualTo(ref.run(x, null, null).hN());
            }
            assertThatThrownBy(() -> plain.openSession(2, SyntheticModels.state(1, 3, 9, 1), null))
                    .hasMessage("session: h0 has shape [1, 3, 9], expected [layers, 2, hidden] for a session of batch 2");
        }
    }

    @Test
    void batchFirstSessionsTakeAndGiveBatchFirstChunks() {
        RnnModel model = SyntheticModels.random(CellType.GRU, 4, 8, 2, 0.5, 1.0, 1);
        Tensor x = SyntheticModels.input(5, 3, 4, 2);
        try (EngineSelection seq = EngineProvider.select(model, EngineOptions.builder().engine("cpu-reference").build());
             EngineSelection bf = EngineProvider.select(model, EngineOptions.builder().engine("cpu-reference").batchFirst(true).build());
             Session s = bf.engine().openSession(3, null, null)) {
            RnnOutput whole = seq.engine().run(x, null, null);
            Tensor first = s.step(steps(x, 0, 2).transpose01());
            Tensor rest = s.step(steps(x, 2, 3).transpose01());
            assertThat(first.transpose01()).isEqualTo(steps(whole.output(), 0, 2));
            assertThat(rest.transpose01()).isEqualTo(steps(whole.output(), 2, 3));
            assertThat(s.state().hN()).isEqualTo(whole.hN());
            assertThatThrownBy(() -> s.step(SyntheticModels.input(2, 3, 4, 1)))
                    .hasMessage("session: chunk has shape [2, 3, 4], expected [3, steps >= 1, 4] (batch, steps, input) for a batch-first session of batch 3");
        }
    }

    @Test
    void aBidirectionalModelHasNoSession() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.RNN_TANH, 3, 4, 1, 1.0, 1.0, 1);
        try (EngineSelection sel = EngineProvider.select(bi, EngineOptions.builder().engine("cpu-reference").build())) {
            assertThatThrownBy(() -> sel.engine().openSession(1, null, null)).isInstanceOf(SprnnException.class)
                    .hasMessage("cpu-reference: a streaming session cannot run a bidirectional model (its reverse direction starts at"
                            + " each sequence's end): run the whole sequence");
        }
    }

    /** Steps {@code [t0, t0 + n)} of {@code x [T][B][W]}. */
    static Tensor steps(Tensor x, int t0, int n) {
        int row = x.dim(1) * x.dim(2);
        double[] d = new double[n * row];
        System.arraycopy(x.data(), t0 * row, d, 0, n * row);
        return new Tensor(new int[] {n, x.dim(1), x.dim(2)}, d);
    }
}
