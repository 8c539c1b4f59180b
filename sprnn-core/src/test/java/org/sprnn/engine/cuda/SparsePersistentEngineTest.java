package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.PlanOptions;

/**
 * cuda-sparse-persistent against cpu-reference where a GPU is present (skipped with the reason elsewhere; the
 * full matrix runs on the GPU machine as {@code sprnn kernel-check}), and its refusals everywhere.
 */
class SparsePersistentEngineTest {

    @Test
    void refusesWithAReasonWhenItCannotRun() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 8, 64, 1, 0.3, 1.0, 3);
        SparsePersistentFactory f = new SparsePersistentFactory();
        Optional<String> fp32 = f.unavailableReason(model, EngineOptions.builder().engine(f.name()).precision(Precision.FP32).build());
        assertThat(fp32).as("fp32 must be refused (16-bit on-chip weights) or the GPU missing").isPresent();
        if (GpuStatus.problem().isPresent()) {
            assertThat(f.unavailableReason(model, EngineOptions.builder().engine(f.name()).precision(Precision.FP16).build()))
                    .as("no GPU here: the reason says why").contains(GpuStatus.problem().get());
        }
    }

    @Test
    void tooLargeLayerIsRefusedWithCapacityNumbers() {
        RnnModel big = SyntheticModels.random(CellType.LSTM, 8, 4096, 1, 1.0, 1.0, 5);
        String why = SparsePersistentEngine.refusal(big, 16, DeviceLimits.h100Sxm(), PlanOptions.defaults());
        assertThat(why).as("LSTM 4096 dense at batch 16 cannot fit an H100").isNotNull().contains("capacity").contains("layer 0");
    }

    @Test
    void matchesCpuReferenceOnTheGpu() {
        Optional<String> problem = GpuStatus.problem();
        Assumptions.assumeTrue(problem.isEmpty(), () -> "no usable GPU: " + problem.orElse(""));
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow();
        long seed = System.nanoTime();
        Object[][] cases = {
            {CellType.RNN_RELU, 300, 3, 0.1, 64, null},
            {CellType.RNN_TANH, 1152, 4, 0.1, 32, ExchangeMode.GRID_BARRIER},
            {CellType.GRU, 300, 4, 0.3, 16, ExchangeMode.TIMESTAMPS},
            {CellType.LSTM, 256, 8, 0.3, 16, ExchangeMode.CLUSTER},
        };
        for (Object[] c : cases) {
            CellType cell = (CellType) c[0];
            int h = (int) c[1], b = (int) c[2], t = (int) c[4];
            double d = (double) c[3];
            RnnModel model = SyntheticModels.random(cell, 16, h, 1, d, 1.0, seed);
            Tensor x = SyntheticModels.input(t, b, 16, seed + 1);
            Tensor h0 = SyntheticModels.state(1, b, h, seed + 2);
            Tensor c0 = cell.hasCellState() ? SyntheticModels.state(1, b, h, seed + 3) : null;
            RnnOutput want = new CpuReferenceEngine(model).run(x, h0, c0);
            PlanOptions o = PlanOptions.defaults().withExchange((ExchangeMode) c[5]);
            try (SparsePersistentEngine e = new SparsePersistentEngine(model, limits, o)) {
                RnnOutput got = e.run(x, h0, c0);
                double err = Math.max(Accuracy.relativeError(got.output(), want.output()), Accuracy.relativeError(got.hN(), want.hN()));
                assertThat(err).as("seed %d %s H=%d B=%d d=%.2f T=%d exchange %s: relative error vs cpu-reference (tolerance 3e-3)",
                        seed, cell.id(), h, b, d, t, c[5]).isLessThanOrEqualTo(3e-3);
            }
        }
    }
}
