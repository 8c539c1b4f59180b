package org.sprnn.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

/** The dense mode's planning against an assumed H100: specs, capacity per cell and batch, refusals with their numbers. */
class DensePlanTest {
    private static final DeviceLimits H100 = DeviceLimits.h100Sxm();
    private static final PlanOptions DENSE = PlanOptions.denseDefaults(Precision.FP16);

    private static CsrMatrix rows(CellType cell, int h, double d) {
        return CsrMatrix.of(SyntheticModels.sparse(cell.gates() * h, h, d, new SplittableRandom(h * 31L + cell.ordinal())));
    }

    @Test
    void aDensePlanHoldsEveryRowWholeTwoWeightsAWord() {
        Plan p = Plan.of(rows(CellType.RNN_RELU, 1152, 1.0), CellType.RNN_RELU, 4, H100, DENSE);
        System.out.print(p.describe());
        KernelSpec s = p.spec();
        assertThat(p.fits()).as(p.why()).isTrue();
        assertThat(s.dense()).isTrue();
        assertThat(s.slotsPerLane()).isEqualTo(s.unitsPerWarp() * 18); // 1152 / 64 slots a row
        assertThat(s.defines()).containsEntry("SPRNN_DENSE", "1").containsEntry("SPRNN_UNIFORM_SLOTS", "1");
        assertThat(s.name()).endsWith("_dense");
        assertThat(p.layout().dense()).isTrue();
        assertThat(p.layout().slotsPerLane()).isEqualTo(s.slotsPerLane());
        assertThat(p.layout().unitsPerWarp()).isEqualTo(s.unitsPerWarp());
        assertThat(p.engineName()).isEqualTo("cuda-dense-persistent");
        // the density of W_hh does not matter to the dense mode
        Plan sparse = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100, DENSE);
        assertThat(sparse.spec()).isEqualTo(s);
        // the activations keep 64 zero columns: 32 more than the sparse layout
        assertThat(KernelSpec.activationBytes(1152, 4, true) - KernelSpec.activationBytes(1152, 4, false)).isEqualTo(2 * 32 * 8);
    }

    @Test
    void capacityPerCellAndBatchIsTheLargestHiddenThatFits() {
        for (CellType cell : CellType.values()) {
            for (int batch : new int[] {1, 4, 16}) {
                Plan.DenseCapacity c = Plan.denseCapacity(cell, batch, H100, DENSE);
                System.out.println("dense capacity " + c.describe());
                assertThat(c.hidden()).isPositive();
                assertThat(c.plan().fits()).isTrue();
                assertThat(c.beyond().fits()).isFalse();
                assertThat(c.beyond().why()).contains("capacity");
                assertThat(c.plan().spec().hidden()).isEqualTo(c.hidden());
                // the kernel's static shared memory must fit beside the dynamic layout: a plan at exactly the per-block
                // limit was refused by cuFuncSetAttribute on the H100 (relu 4064, batch 4)
                assertThat(c.plan().spec().sharedMemoryBytes() + KernelSpec.STATIC_SHARED_BYTES)
                        .isLessThanOrEqualTo(H100.sharedMemoryPerBlockOptin());
            }
        }
        // LSTM holds a quarter of relu's weights a row of units, so its capacity is about half relu's hidden
        int relu = Plan.denseCapacity(CellType.RNN_RELU, 4, H100, DENSE).hidden();
        int lstm = Plan.denseCapacity(CellType.LSTM, 4, H100, DENSE).hidden();
        assertThat(lstm).isLessThan(relu);
        assertThat((double) lstm / relu).isBetween(0.35, 0.7);
        // wider batches leave no more room (more activation bytes, wider loads)
        assertThat(Plan.denseCapacity(CellType.RNN_RELU, 16, H100, DENSE).hidden()).isLessThanOrEqualTo(relu);
    }

    @Test
    void beyondCapacityIsRefusedWithTheNumbers() {
        int cap = Plan.denseCapacity(CellType.GRU, 4, H100, DENSE).hidden();
        Plan refused = Plan.of(rows(CellType.GRU, cap + 64, 0.01), CellType.GRU, 4, H100, DENSE);
        assertThat(refused.fits()).isFalse();
        assertThat(refused.layout()).isNull(); // not packed
        assertThat(refused.why()).contains("words per lane", "registers", "shared", "capacity", "dense weights");
        assertThat(refused.describe()).contains("NO", "not packed");
        assertThatThrownBy(refused::requireFits).isInstanceOf(SprnnException.class).hasMessageContaining("cuda-dense-persistent");
    }

    @Test
    void everyExchangeAndStagingPlansDense() {
        for (ExchangeMode e : ExchangeMode.values()) {
            Plan p = Plan.of(rows(CellType.LSTM, 512, 0.3), CellType.LSTM, 4, H100, DENSE.withExchange(e));
            assertThat(p.fits()).as(e + ": " + p.why()).isTrue();
            assertThat(p.spec().exchange()).isEqualTo(e);
            assertThat(p.spec().dense()).isTrue();
        }
        // bf16 weights: the same partition, SPRNN_BF16
        Plan bf = Plan.of(rows(CellType.RNN_TANH, 700, 0.3), CellType.RNN_TANH, 3, H100, PlanOptions.denseDefaults(Precision.BF16));
        assertThat(bf.spec().defines()).containsEntry("SPRNN_BF16", "1").containsEntry("SPRNN_DENSE", "1");
    }

    @Test
    void denseSpecsValidateTheirShape() {
        KernelSpec.Builder b = KernelSpec.builder().cell(CellType.GRU).hidden(100).batch(4).weights(Precision.FP16).ctas(8)
                .warpsPerCta(4).unitsPerWarp(2).registerSlots(4).wideLoads(true).exchange(ExchangeMode.TIMESTAMPS).balanced(true)
                .smArch(90).uniformSlots(true).dense(true);
        // 2 units x 3 gates x ceil(100/64) = 12 slots, rows of 2 slots compiled in
        assertThat(b.slotsPerLane(12).rowSlots(2).build().defines()).containsEntry("SPRNN_ROW_SLOTS", "2");
        assertThatThrownBy(() -> b.slotsPerLane(13).rowSlots(2).build()).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> b.slotsPerLane(14).rowSlots(0).build()).isInstanceOf(SprnnException.class).hasMessageContaining("dense");
        assertThatThrownBy(() -> b.slotsPerLane(12).rowSlots(0).build()).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> b.slotsPerLane(12).rowSlots(2).wideLoads(false).build()).isInstanceOf(SprnnException.class);
        assertThat(PackedLayer.denseRowSlots(64)).isEqualTo(1);
        assertThat(PackedLayer.denseRowSlots(65)).isEqualTo(2);
    }
}
