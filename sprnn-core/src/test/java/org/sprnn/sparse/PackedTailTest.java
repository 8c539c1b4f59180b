package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;

/**
 * {@link PackedLayer#packTail}: rows of unequal length with every row end at a compile-time slot, the warp's rows sharing
 * a tail lane by lane. The layout holds exactly W_hh, read the way the kernel reads it ({@link PackedLayer#unpack}: a
 * tail slot's word belongs to its lane's {@link PackedLayer#tailRows}, any other to the row whose slots hold it).
 */
class PackedTailTest {
    /** W_hh of a layer pruned over the whole matrix (rows of unequal length, as magnitude pruning leaves them). */
    static CsrMatrix magnitudePruned(CellType cell, int h, double density, long seed) {
        var dense = SyntheticModels.random(cell, 1, h, 1, 1.0, 1.0, seed).layers().get(0).wHh();
        return CsrMatrix.of(Pruner.prune(dense, new PruneSpec(density, PruneSpec.Mode.PER_MATRIX, false)));
    }

    @Test
    void holdsExactlyTheMatrixEveryRowEndAtItsCompiledSlot() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        int laidOut = 0, withTail = 0;
        for (int trial = 0; trial < 40; trial++) {
            CellType cell = CellType.values()[rnd.nextInt(4)];
            int h = 16 + rnd.nextInt(160);
            int batch = 1 + rnd.nextInt(16);
            int ctas = 1 + rnd.nextInt(4);
            int warps = ctas * (1 + rnd.nextInt(8));
            boolean contiguous = rnd.nextBoolean(), bank = rnd.nextBoolean(), wide = rnd.nextBoolean(), split = rnd.nextInt(4) == 0;
            Precision format = rnd.nextBoolean() ? Precision.FP16 : Precision.BF16;
            CsrMatrix w = rnd.nextBoolean() ? magnitudePruned(cell, h, 0.05 + 0.4 * rnd.nextDouble(), rnd.nextLong())
                    : PackedLayerTest.unevenRows(rnd, cell.gates() * h, h, 0.02 + 0.3 * rnd.nextDouble());
            String what = String.format("seed %d trial %d: %s H=%d B=%d %d CTAs x %d warps contiguous=%s bank=%s wide=%s split=%s %s",
                    seed, trial, cell.id(), h, batch, ctas, warps / ctas, contiguous, bank, wide, split, format.id());
            PackedLayer p = PackedLayer.packTail(w, cell, batch, ctas, warps, contiguous, bank, wide, format, split);
            int rowsPerWarp = (h + warps - 1) / warps * cell.gates(); // at least this many: U >= ceil(H / W)
            if (p == null) {
                continue; // one row a warp, or no tail of at most MAX_TAIL_SLOTS fits
            }
            laidOut++;
            int rows = p.unitsPerWarp() * cell.gates();
            assertThat(rows).as(what).isGreaterThan(1).isGreaterThanOrEqualTo(rowsPerWarp);
            int t = p.tailSlots(), b = p.compiledRowSlots();
            withTail += t > 0 ? 1 : 0;
            assertThat(t).as(what).isBetween(0, PackedLayer.MAX_TAIL_SLOTS);
            assertThat(b).as(what).isPositive();
            assertThat(p.slotsPerLane()).as(what).isEqualTo(t + rows * b);
            assertThat(p.tailSlots() == 0 ? p.equalRowSlots() : b).as(what + ": without a tail the rows are equal").isEqualTo(b);
            assertThat(p.fullWarps()).as(what).isTrue();
            for (int wp = 0; wp < warps; wp++) {
                for (int k = 0; k < rows; k++) {
                    assertThat(p.rowEnds()[wp * rows + k]).as(what).isEqualTo(t + (k + 1) * b - 1);
                }
                for (int lane = 0; lane < 32; lane++) {
                    assertThat(p.tailRows()[wp * 32 + lane]).as(what).isBetween(-1, rows - 1);
                }
            }
            assertThat(p.tailRows()).as(what).hasSize(warps * 32);
            assertThat(p.kernelRowEnds()).as(what).hasSize(t > 0 ? warps * rows + warps * 32 : warps * rows);
            // the kernel's reading of the words is the matrix, as the general layout holds it
            PackedLayer general = PackedLayer.pack(w, cell, batch, ctas, warps, contiguous, true, bank, wide, format, split);
            assertThat(p.unpack(format)).as(what).containsExactly(general.unpack(format));
            // every unit once
            boolean[] seen = new boolean[h];
            for (int u : p.warpUnits()) {
                if (u >= 0) {
                    assertThat(seen[u]).as(what + ": unit %d twice", u).isFalse();
                    seen[u] = true;
                }
            }
            for (int u = 0; u < h; u++) {
                assertThat(seen[u]).as(what + ": unit %d dealt", u).isTrue();
            }
            assertThat(p.stats().nonzeros()).isEqualTo(w.nnz());
            // S as tailSlotsPerLane predicts it
            assertThat(PackedLayer.tailSlotsPerLane(w, cell, batch, ctas, warps, contiguous, split)).as(what).isEqualTo(p.slotsPerLane());
        }
        assertThat(laidOut).as("seed %d: trials laid out with rows sharing a tail", seed).isGreaterThan(8);
        assertThat(withTail).as("seed %d: trials with a tail", seed).isGreaterThan(4);
    }

    @Test
    void oneVeryLongRowAmongShortOnesBoundsTheSearch() {
        // GRU 3001: every row 3 nonzeros but one of 3001 (a hostile file's shape): the search starts where the longest
        // row fits 32 lanes of the widest tail instead of at one slot a row
        int h = 3001;
        CsrMatrix w = PackedLayerTest.rowsOfLength(3 * h, h, r -> r == 7 ? h : 3);
        long t0 = System.nanoTime();
        int s = PackedLayer.tailSlotsPerLane(w, CellType.GRU, 4, 132, 132 * 8, false, false);
        double seconds = (System.nanoTime() - t0) / 1e9;
        // the longest row alone needs 94 slots: as its own slots (U*G rows of them) or a tail of at most 16
        assertThat(s == 0 || s >= (h - 32 * PackedLayer.MAX_TAIL_SLOTS) / 32).as("S %d", s).isTrue();
        assertThat(seconds).as("one shape search, seconds").isLessThan(30);
    }

    @Test
    void unpackMatchesTheMatrixValueForValue() {
        CsrMatrix w = magnitudePruned(CellType.GRU, 96, 0.5, 3);
        PackedLayer p = PackedLayer.packTail(w, CellType.GRU, 4, 2, 8, true, true, true, Precision.FP16, false);
        assertThat(p).isNotNull();
        assertThat(p.tailSlots()).as(p.summary()).isPositive();
        float[] got = p.unpack(Precision.FP16);
        for (int r = 0; r < w.rows(); r++) {
            int[] cols = w.rowColumns(r);
            float[] vals = w.rowValues(r);
            int x = 0;
            for (int c = 0; c < w.cols(); c++) {
                float want = x < cols.length && cols[x] == c ? Precision.FP16.decode(Precision.FP16.encode(vals[x++])) : 0f;
                assertThat(got[r * w.cols() + c]).as("row %d column %d", r, c).isEqualTo(want);
            }
        }
    }

    @Test
    void rowsOfEqualLengthNeedNoTail() {
        // GRU 64, every row 64 nonzeros (2 full slots): nothing for a tail to save
        CsrMatrix w = PackedLayerTest.rowsOfLength(3 * 64, 64, r -> 64);
        PackedLayer p = PackedLayer.packTail(w, CellType.GRU, 4, 1, 16, false, true, true, Precision.FP16, false);
        assertThat(p.tailSlots()).isZero();
        assertThat(p.compiledRowSlots()).isEqualTo(2).isEqualTo(p.equalRowSlots());
        assertThat(p.slotsPerLane()).isEqualTo(4 * 3 * 2);
        // rows of 40 (2 slots, 24 cells of padding each): a tail of 4 slots holds every row's last 8 words in 2 lanes,
        // 12 + 4 slots instead of 24
        CsrMatrix w40 = PackedLayerTest.rowsOfLength(3 * 64, 64, r -> 40);
        PackedLayer p40 = PackedLayer.packTail(w40, CellType.GRU, 4, 1, 16, false, true, true, Precision.FP16, false);
        assertThat(p40.tailSlots()).isEqualTo(4);
        assertThat(p40.slotsPerLane()).isEqualTo(16);
    }

    @Test
    void aWarpOfOneRowGetsNoTailLayout() {
        CsrMatrix w = magnitudePruned(CellType.RNN_RELU, 64, 0.3, 4);
        assertThat(PackedLayer.packTail(w, CellType.RNN_RELU, 4, 1, 64, false, true, true, Precision.FP16, false)).isNull();
        assertThat(PackedLayer.tailSlotsPerLane(w, CellType.RNN_RELU, 4, 1, 64, false, false)).isZero();
    }

    @Test
    void thePlanTakesTheTailWhereItCostsNoMoreSlotsAndOnlyWithCompiledRowEnds() {
        CsrMatrix w = magnitudePruned(CellType.LSTM, 256, 0.2, 5);
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        for (ExchangeMode e : ExchangeMode.values()) {
            PlanOptions o = PlanOptions.defaults().withExchange(e);
            Plan tail = Plan.of(w, CellType.LSTM, 4, h100, o);
            Plan runtime = Plan.of(w, CellType.LSTM, 4, h100, o.withCompiledRowEnds(false));
            assertThat(tail.spec().tailSlots()).as(tail.describe()).isPositive();
            assertThat(tail.spec().rowSlots() * tail.spec().unitsPerWarp() * 4 + tail.spec().tailSlots())
                    .isEqualTo(tail.spec().slotsPerLane());
            assertThat(tail.spec().name()).contains("_tail" + tail.spec().tailSlots());
            assertThat(tail.spec().defines()).containsEntry("SPRNN_TAIL_SLOTS", Integer.toString(tail.spec().tailSlots()));
            assertThat(runtime.spec().tailSlots()).isZero();
            assertThat(runtime.spec().rowSlots()).isZero();
            assertThat(cost(tail.spec())).as(e + ": " + tail.describe() + " vs " + runtime.describe())
                    .isLessThanOrEqualTo(cost(runtime.spec()));
        }
    }

    @Test
    void theKernelChecksUnequalRowLayersPlanTheTail() {
        // SparsePersistentSelfTest's and the full matrix's "unequal rows" cases: not vacuous where the tail applies
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        for (CellType c : new CellType[] {CellType.GRU, CellType.LSTM}) {
            var m = SyntheticModels.randomUnequalRows(c, 24, 1152, 1, 0.1, 1.0, 9);
            CsrMatrix w = CsrMatrix.of(m.layers().get(0).wHh());
            assertThat(w.rowNnz(0)).isNotEqualTo(w.rowNnz(1)).isPositive(); // (for this seed) rows of unequal counts
            for (int batch : new int[] {1, 4, 16}) {
                Plan p = Plan.of(w, c, batch, h100, PlanOptions.defaults());
                assertThat(p.spec().tailSlots()).as(p.describe()).isPositive();
            }
        }
        var relu = SyntheticModels.randomUnequalRows(CellType.RNN_RELU, 24, 1152, 1, 0.1, 1.0, 9);
        Plan cluster = Plan.of(CsrMatrix.of(relu.layers().get(0).wHh()), CellType.RNN_RELU, 4, h100,
                PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER));
        assertThat(cluster.spec().tailSlots()).as(cluster.describe()).isPositive();
    }

    /** The planner's slot cost of a spec: register-tier slots, shared-tier ones 2.5x. */
    private static double cost(KernelSpec s) {
        return s.registerSlots() + 2.5 * (s.slotsPerLane() - s.registerSlots());
    }

    @Test
    void aSpecRefusesATailItsSlotsDoNotAddUpTo() {
        KernelSpec.Builder b = KernelSpec.builder().cell(CellType.GRU).hidden(96).batch(4).weights(Precision.FP16).ctas(2)
                .warpsPerCta(8).registerSlots(8).unitsPerWarp(6).wideLoads(true).bankAware(true).exchange(ExchangeMode.GRID_BARRIER)
                .balanced(true).smArch(90).uniformSlots(true);
        assertThat(b.slotsPerLane(3 + 18 * 2).registerSlots(8).rowSlots(2).tailSlots(3).build().defines())
                .containsEntry("SPRNN_TAIL_SLOTS", "3").containsEntry("SPRNN_ROW_SLOTS", "2");
        assertThatThrownBy(() -> b.slotsPerLane(40).registerSlots(8).rowSlots(2).tailSlots(3).build()).isInstanceOf(SprnnException.class)
                .hasMessageContaining("tailSlots 3");
        assertThatThrownBy(() -> b.slotsPerLane(3).registerSlots(3).rowSlots(0).tailSlots(3).build()).isInstanceOf(SprnnException.class)
                .hasMessageContaining("only with rowSlots");
        assertThatThrownBy(() -> b.slotsPerLane(36).registerSlots(8).rowSlots(2).tailSlots(-1).build()).isInstanceOf(SprnnException.class);
    }
}
