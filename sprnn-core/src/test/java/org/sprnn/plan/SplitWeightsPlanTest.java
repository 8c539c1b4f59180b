package org.sprnn.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

/**
 * The split-weights option through planning: off by default, carried by every {@code with*} of the options, counted
 * against the capacity in doubled words, the same kernel (defines) as one word per nonzero and a name of its own.
 */
class SplitWeightsPlanTest {
    private static final DeviceLimits H100 = DeviceLimits.h100Sxm();
    /** A 4-SM device (H100 per SM) so that a layer near capacity plans in milliseconds. */
    private static final DeviceLimits SMALL = new DeviceLimits("test 4 SMs", 4, 65536, 255, 233472, 232448, 1024, 90, 16, true);

    private static CsrMatrix rows(CellType cell, int h, double d, long seed) {
        return CsrMatrix.of(SyntheticModels.sparse(cell.gates() * h, h, d, new SplittableRandom(seed)));
    }

    @Test
    void offByDefaultAndCarriedByEveryWith() {
        assertThat(PlanOptions.defaults().splitWeights()).isFalse();
        assertThat(new PlanOptions(null, true, true, true, 0, 0, Precision.FP16).splitWeights()).isFalse();
        PlanOptions o = PlanOptions.defaults().withSplitWeights(true);
        assertThat(o.splitWeights()).isTrue();
        assertThat(o.withExchange(ExchangeMode.GRID_BARRIER).splitWeights()).isTrue();
        assertThat(o.withPartition(8, 4).splitWeights()).isTrue();
        assertThat(o.withSwitches(false, false, false).splitWeights()).isTrue();
        assertThat(o.withSplitWeights(false)).isEqualTo(PlanOptions.defaults());
    }

    @Test
    void sameKernelDoubledWordsOwnName() {
        for (CellType cell : CellType.values()) {
            CsrMatrix r = rows(cell, 300, 0.1, 11 + cell.ordinal());
            Plan one = Plan.of(r, cell, 3, H100, PlanOptions.defaults());
            Plan two = Plan.of(r, cell, 3, H100, PlanOptions.defaults().withSplitWeights(true));
            String what = cell.id() + " H=300 d=0.1 B=3: " + two.describe();
            assertThat(two.fits()).as(what).isTrue();
            KernelSpec s = two.spec();
            assertThat(s.splitWeights()).isTrue();
            assertThat(two.layout().splitWeights()).isTrue();
            assertThat(s.name()).as(what).endsWith("_split").isNotEqualTo(one.spec().name());
            assertThat(two.describe()).contains("split weights");
            KernelSpec unsplit = s.toBuilder().splitWeights(false).stageCluster(0).uniformSlots(false).rowSlots(0).build();
            assertThat(s.defines()).as(what + ": the kernel is the one-word kernel").isEqualTo(unsplit.defines());
            assertThat(s.sharedMemoryBytes()).isEqualTo(unsplit.sharedMemoryBytes());
            // the slots per lane are those of 2k words a row of k nonzeros
            int[] unitSlots = PackedLayer.unitSlots(r, cell, true);
            assertThat(s.slotsPerLane()).as(what).isEqualTo(PackedLayer.slotsPerLane(unitSlots, 3, s.ctas(), s.warps(),
                    s.exchange() == ExchangeMode.CLUSTER, true));
            assertThat(s.slotsPerLane()).as(what).isGreaterThan(one.spec().slotsPerLane());
            assertThat(two.layout().stats().nonzeros()).isEqualTo(r.nnz());
        }
        // rows of 1 to 16 nonzeros fit their two words in the one slot per lane they took anyway: splitting is free
        CsrMatrix sparse = rows(CellType.RNN_RELU, 300, 0.01, 5);
        Plan one = Plan.of(sparse, CellType.RNN_RELU, 3, H100, PlanOptions.defaults());
        Plan two = Plan.of(sparse, CellType.RNN_RELU, 3, H100, PlanOptions.defaults().withSplitWeights(true));
        assertThat(two.spec().slotsPerLane()).as(two.describe()).isEqualTo(one.spec().slotsPerLane());
        assertThat(two.predictedMicrosPerStep()).isEqualTo(one.predictedMicrosPerStep());
    }

    @Test
    void theDefaultPlanSplitsWhereItCostsNoSlot() {
        CsrMatrix sparse = rows(CellType.RNN_RELU, 300, 0.01, 5); // rows of at most 16 nonzeros
        assertThat(PackedLayer.splitCostsNoSlots(sparse)).isTrue();
        Plan auto = Plan.of(sparse, CellType.RNN_RELU, 3, H100, PlanOptions.defaults());
        assertThat(auto.spec().splitWeights()).as(auto.describe()).isTrue();
        assertThat(auto.layout().splitWeights()).isTrue();
        CsrMatrix dense = rows(CellType.RNN_RELU, 300, 0.1, 5); // rows of about 30: split would double their slots
        assertThat(PackedLayer.splitCostsNoSlots(dense)).isFalse();
        Plan plain = Plan.of(dense, CellType.RNN_RELU, 3, H100, PlanOptions.defaults());
        assertThat(plain.spec().splitWeights()).as(plain.describe()).isFalse();
    }

    @Test
    void capacityCountsTheDoubledWords() {
        // relu 512 at 80% on 4 SMs, grid barrier: 78 words per lane fit (8 registers + 78 shared per lane at 22 warps),
        // the 156 of split weights do not; the refusal names the capacity and the split
        CsrMatrix r = rows(CellType.RNN_RELU, 512, 0.8, 5);
        PlanOptions o = PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER);
        Plan one = Plan.of(r, CellType.RNN_RELU, 4, SMALL, o);
        Plan two = Plan.of(r, CellType.RNN_RELU, 4, SMALL, o.withSplitWeights(true));
        assertThat(one.fits()).as(one.describe()).isTrue();
        assertThat(two.fits()).as(two.describe()).isFalse();
        assertThat(two.why()).contains("capacity").contains(r.nnz() + " nonzeros x 2 words, split weights");
        KernelSpec s = two.spec();
        assertThat(s.slotsPerLane()).as(two.describe()).isGreaterThan(two.registerSlotsAvailable() + two.sharedSlotsAvailable());
        long words = 0;
        for (int u : PackedLayer.unitSlots(r, CellType.RNN_RELU, true)) {
            words += u * 32L;
        }
        assertThat(words).as("slots of 2k words per row").isGreaterThanOrEqualTo(2L * r.nnz());
        assertThat((long) s.warps() * 32 * s.slotsPerLane()).as(two.why()).isGreaterThan((long) s.warps() * 32
                * (two.registerSlotsAvailable() + two.sharedSlotsAvailable()));
    }
}
