package org.sprnn.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.engine.cuda.SparsePersistentFactory;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/**
 * How the GPU engines get lengths and bidirectional models (issue 17) without a GPU: the composition they share with
 * the CPU engines ({@link ComposedFeatures}), driven here by an engine that runs only whole batches of unidirectional
 * models as the GPU engines do (its plain runs are cpu-reference's), and the planner's and cost model's view of a
 * bidirectional model.
 */
class ComposedFeaturesTest {

    /** An engine as the GPU engines are: a plain run, {@link ComposedFeatures#ENGINE_FEATURES}, the default run with lengths. */
    private static final class GpuLike implements Engine {
        private final RnnModel model;
        private final CpuReferenceEngine inner;
        final List<int[]> runShapes; // [T, B] of every plain run
        boolean closed;

        GpuLike(RnnModel model, List<int[]> runShapes) {
            if (model.bidirectional()) {
                throw new SprnnException("gpu-like: bidirectional model handed to a one-direction engine");
            }
            this.model = model;
            this.inner = new CpuReferenceEngine(model);
            this.runShapes = runShapes;
        }

        @Override
        public String name() {
            return "cuda-gemm";
        }

        @Override
        public Set<EngineFeature> features() {
            return ComposedFeatures.ENGINE_FEATURES;
        }

        @Override
        public Session openSession(int batch, Tensor h0, Tensor c0) {
            return ComposedFeatures.session(this, model, batch, h0, c0);
        }

        @Override
        public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
            runShapes.add(new int[] {input.dim(0), input.dim(1)});
            return inner.run(input, h0, c0);
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void aBidirectionalModelWithLengthsRunsAsOneEnginePerLayerAndDirectionEachInSegments() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.LSTM, 5, 7, 2, 0.5, 1.0, 3);
        int steps = 6, batch = 4;
        Tensor x = SyntheticModels.input(steps, batch, 5, 4);
        Tensor h0 = SyntheticModels.state(4, batch, 7, 5);
        Tensor c0 = SyntheticModels.state(4, batch, 7, 6);
        SequenceLengths lengths = SequenceLengths.of(6, 2, 4, 2);
        List<int[]> shapes = new ArrayList<>();
        List<GpuLike> built = new ArrayList<>();
        try (Engine e = ComposedFeatures.create("cuda-gemm", bi, layer -> {
                GpuLike g = new GpuLike(layer, shapes);
                built.add(g);
                return g;
            });
             Engine ref = EngineProvider.factory("cpu-reference").create(bi, EngineOptions.builder().build())) {
            assertThat(e).isInstanceOf(BidirectionalEngine.class);
            assertThat(e.name()).isEqualTo("cuda-gemm");
            assertThat(built).hasSize(4);
            assertThat(built).allSatisfy(g -> assertThat(g.model.numLayers()).isEqualTo(1));
            RnnOutput got = e.run(x, h0, c0, lengths);
            RnnOutput want = ref.run(x, h0, c0, lengths);
            // the same float64 operations in the same order: equal bit for bit
            assertThat(got.output().data()).containsExactly(want.output().data());
            assertThat(got.hN().data()).containsExactly(want.hN().data());
            assertThat(got.cN().data()).containsExactly(want.cN().data());
            assertThat(got.output().shape()).containsExactly(steps, batch, 14);
            // each of the 4 engines ran one segment per distinct length (2, 4, 6): steps 0-1 of all 4, 2-3 of 2, 4-5 of 1
            assertThat(shapes).hasSize(12);
            assertThat(shapes.subList(0, 3)).containsExactly(new int[] {2, 4}, new int[] {2, 2}, new int[] {2, 1});
            assertThatThrownBy(() -> e.openSession(batch, null, null)).hasMessageContaining("cuda-gemm: a streaming session cannot run a bidirectional model");
        }
        assertThat(built).allSatisfy(g -> assertThat(g.closed).isTrue());
    }

    @Test
    void aUnidirectionalModelIsTheEngineItselfWithLengthsAndCheckedSessions() {
        RnnModel model = SyntheticModels.random(CellType.GRU, 3, 6, 2, 0.5, 1.0, 7);
        List<int[]> shapes = new ArrayList<>();
        Tensor x = SyntheticModels.input(5, 3, 3, 8);
        try (Engine e = ComposedFeatures.create("cuda-gemm", model, layer -> new GpuLike(layer, shapes));
             Engine ref = EngineProvider.factory("cpu-reference").create(model, EngineOptions.builder().build())) {
            assertThat(e).isInstanceOf(GpuLike.class);
            assertThat(e.run(x, null, null, SequenceLengths.of(5, 1, 3)).output().data())
                    .containsExactly(ref.run(x, null, null, SequenceLengths.of(5, 1, 3)).output().data());
            assertThatThrownBy(() -> e.openSession(3, SyntheticModels.state(2, 2, 6, 1), null))
                    .hasMessage("h0 has shape [2, 2, 6], expected [2, 3, 6] (layers, batch, hidden)");
            try (Session s = e.openSession(3, null, null)) {
                assertThat(s.state().hN().shape()).as("zeros from the start, checked against the model").containsExactly(2, 3, 6);
            }
        }
    }

    @Test
    void thePersistentEnginesPlanAndRefuseEachDirectionOfEachLayer() {
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        PlanOptions sparse = SparsePersistentFactory.planOptions(Precision.FP16, false);
        // at the dense mode's capacity a pruned layer fits held sparse, a dense one (one weight a word, not two) does not
        int cap = Plan.denseCapacity(CellType.RNN_RELU, 4, h100, SparsePersistentFactory.planOptions(Precision.FP16, true)).hidden();
        RnnModel pruned = SyntheticModels.random(CellType.RNN_RELU, 4, cap, 1, 0.1, 1.0, 1);
        RnnModel dense = SyntheticModels.random(CellType.RNN_RELU, 4, cap, 1, 1.0, 1.0, 2);
        assertThat(SparsePersistentEngine.refusal(pruned, 4, h100, sparse)).isNull();
        RnnModel bi = pruned.withLayers(pruned.layers(), dense.layers());
        assertThat(SparsePersistentEngine.refusal(bi, 4, h100, sparse)).startsWith("layer 0 (reverse) does not fit on-chip").contains("capacity");
        assertThat(SparsePersistentEngine.refusal(pruned.withLayers(pruned.layers(), pruned.layers()), 4, h100, sparse)).isNull();
    }

    @Test
    void theCostModelCountsBothDirections() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.GRU, 8, 256, 1, 0.1, 1.0, 9);
        RnnModel forward = bi.withLayers(bi.layers(), List.of());
        RnnModel reverse = bi.withLayers(bi.reverseLayers(), List.of());
        double both = CostModel.sparsePersistent(bi, 4).microsPerStep();
        assertThat(both).isCloseTo(CostModel.sparsePersistent(forward, 4).microsPerStep()
                + CostModel.sparsePersistent(reverse, 4).microsPerStep(), org.assertj.core.data.Offset.offset(1e-9));
        assertThat(CostModel.gemm(bi, 4, Precision.FP16).microsPerStep())
                .isCloseTo(2 * CostModel.gemm(forward, 4, Precision.FP16).microsPerStep(), org.assertj.core.data.Offset.offset(1e-9));
    }

    /** A one-direction engine that records the threads it ran on, and fails when told to. */
    private static final class Recording implements Engine {
        private final CpuReferenceEngine inner;
        final List<String> threads;
        final boolean fail;

        Recording(RnnModel model, List<String> threads, boolean fail) {
            this.inner = new CpuReferenceEngine(model);
            this.threads = threads;
            this.fail = fail;
        }

        @Override
        public String name() {
            return "cuda-sparse-persistent";
        }

        @Override
        public Set<EngineFeature> features() {
            return ComposedFeatures.ENGINE_FEATURES;
        }

        @Override
        public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
            synchronized (threads) {
                threads.add(Thread.currentThread().getName());
            }
            if (fail) {
                throw new SprnnException("overflow: layer 0's output at step 1 (batch element 0) is not finite");
            }
            return inner.run(input, h0, c0);
        }

        @Override
        public void close() {
        }
    }

    @Test
    void sharedEnginesRunTheTwoDirectionsAtOnceWhereBothFitAndTheWholeOnesOneAfterTheOtherElsewhere() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.GRU, 5, 6, 2, 0.5, 1.0, 21);
        List<String> whole = new ArrayList<>(), shared = new ArrayList<>();
        int[] built = new int[2];
        try (BidirectionalEngine e = new BidirectionalEngine("cuda-sparse-persistent", bi,
                layer -> { built[0]++; return new Recording(layer, whole, false); },
                layer -> { built[1]++; return new Recording(layer, shared, false); },
                (layer, batch) -> batch <= 3);
             Engine ref = EngineProvider.factory("cpu-reference").create(bi, EngineOptions.builder().build())) {
            assertThat(built).as("the shared engines now, the whole ones at their first use").containsExactly(0, 4);
            assertThat(e.concurrentAt(3)).isTrue();
            assertThat(e.concurrentAt(4)).isFalse();
            for (int batch : new int[] {3, 4}) {
                Tensor x = SyntheticModels.input(7, batch, 5, 22 + batch);
                Tensor h0 = SyntheticModels.state(4, batch, 6, 30 + batch);
                SequenceLengths lengths = batch == 3 ? SequenceLengths.of(7, 2, 5) : SequenceLengths.of(1, 7, 7, 4);
                RnnOutput got = e.run(x, h0, null, lengths), want = ref.run(x, h0, null, lengths);
                assertThat(got.output().data()).as("batch %d", batch).containsExactly(want.output().data());
                assertThat(got.hN().data()).as("batch %d", batch).containsExactly(want.hN().data());
            }
            assertThat(built).containsExactly(4, 4);
            assertThat(shared).as("batch 3: each layer's reverse direction on the engine's own thread").hasSize(4 * 3)
                    .contains("cuda-sparse-persistent-reverse").contains(Thread.currentThread().getName());
            assertThat(whole).as("batch 4: all on the caller's thread").isNotEmpty().containsOnly(Thread.currentThread().getName());
        }
    }

    @Test
    void aReverseDirectionThatFailsOnItsThreadIsReportedAsThereNamedByLayerAndDirection() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.RNN_TANH, 3, 4, 1, 1.0, 1.0, 23);
        List<String> threads = new ArrayList<>();
        try (BidirectionalEngine e = new BidirectionalEngine("cuda-sparse-persistent", bi, layer -> new Recording(layer, threads, false),
                layer -> new Recording(layer, threads, layer.layer(0, 0).wHh() == bi.layer(0, 1).wHh()),
                (layer, batch) -> true)) {
            assertThatThrownBy(() -> e.run(SyntheticModels.input(4, 2, 3, 24), null, null))
                    .isInstanceOf(SprnnException.class)
                    .hasMessageStartingWith("overflow: layer 0 (reverse)'s output at step 2 (batch element 0)");
            // the forward direction failing on the caller's thread: the reverse one is waited for, then the failure thrown
            try (BidirectionalEngine f = new BidirectionalEngine("cuda-sparse-persistent", bi, layer -> new Recording(layer, threads, false),
                    layer -> new Recording(layer, threads, layer.layer(0, 0).wHh() == bi.layer(0, 0).wHh()), (layer, batch) -> true)) {
                assertThatThrownBy(() -> f.run(SyntheticModels.input(4, 2, 3, 25), null, null))
                        .hasMessageStartingWith("overflow: layer 0 (forward)'s output at step 1");
                f.close();
                assertThatThrownBy(() -> f.run(SyntheticModels.input(4, 2, 3, 25), null, null))
                        .isInstanceOf(SprnnException.class).hasMessage("cuda-sparse-persistent: engine used after close()");
            }
            assertThatThrownBy(() -> new BidirectionalEngine("x", bi, layer -> new Recording(layer, threads, false),
                    layer -> new Recording(layer, threads, false), null)).hasMessageContaining("both the shared builder and its fit test");
        }
    }
}
