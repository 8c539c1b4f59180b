package org.sprnn.plan;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.sparse.CsrMatrix;

/**
 * A layer that the cost-optimal warp count cannot hold but another can is planned to fit, not refused (found by
 * kernel-check --full on the H100: gru H=4096 d=10% B=8 was refused at 16 warps and fits at 8), and a plan that fits
 * with the cost-optimal count keeps it.
 */
class PlanWarpFallbackTest {
    // a small device (4 SMs) so that a small layer sits at the capacity boundary
    private static final DeviceLimits SMALL = new DeviceLimits("test 4 SMs", 4, 65536, 255, 233472, 232448, 1024, 90, 16, true);

    @Test
    void aLayerThatFitsWithFewerWarpsIsNotRefused() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 8, 512, 1, 0.2, 1.0, 3);
        CsrMatrix r = CsrMatrix.of(m.layers().get(0).wHh());
        PlanOptions o = PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER);
        int costOptimal = Plan.chooseWarps(r, CellType.LSTM, 8, SMALL, 4, false, true);
        Plan atCostOptimal = Plan.of(r, CellType.LSTM, 8, SMALL, o.withPartition(0, costOptimal));
        assertThat(atCostOptimal.fits()).as("lstm H=512 d=0.2 B=8 on 4 SMs at %d warps: %s", costOptimal, atCostOptimal.why()).isFalse();
        Plan p = Plan.of(r, CellType.LSTM, 8, SMALL, o);
        assertThat(p.fits()).as("lstm H=512 d=0.2 B=8 on 4 SMs, derived warps: %s", p.why()).isTrue();
        assertThat(p.spec().warpsPerCta()).isNotEqualTo(costOptimal);
        // what fits is really within the capacity: slots per lane within registers plus the shared tier
        assertThat(p.spec().slotsPerLane()).isLessThanOrEqualTo(p.registerSlotsAvailable() + p.sharedSlotsAvailable());
        assertThat(p.spec().sharedMemoryBytes()).isLessThanOrEqualTo(SMALL.sharedMemoryPerBlockOptin());
    }

    @Test
    void aFittingCostOptimalPartitionIsKept() {
        RnnModel m = SyntheticModels.random(CellType.RNN_RELU, 8, 1152, 1, 0.1, 1.0, 3);
        CsrMatrix r = CsrMatrix.of(m.layers().get(0).wHh());
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        for (ExchangeMode e : ExchangeMode.values()) {
            PlanOptions o = PlanOptions.defaults().withExchange(e);
            int ctas = e == ExchangeMode.CLUSTER ? 16 : 132;
            int w = Plan.chooseWarps(r, CellType.RNN_RELU, 4, h100, ctas, e == ExchangeMode.CLUSTER, true);
            Plan p = Plan.of(r, CellType.RNN_RELU, 4, h100, o);
            assertThat(p.fits()).as("relu H=1152 d=0.1 B=4 %s: %s", e, p.why()).isTrue();
            assertThat(p.spec().warpsPerCta()).as("relu H=1152 d=0.1 B=4 %s", e).isEqualTo(w);
        }
    }
}
