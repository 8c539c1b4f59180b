package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/**
 * {@link PackedLayer#packPairs}: warps of one row of unequal length in pairs, a long row's overflow in the slots after
 * {@code O} of a shorter row's warp of its CTA. Each layout is read here the way the kernel reads it (the pair
 * information from {@link PackedLayer#kernelRowEnds} after every warp's row end, the slots in the kernel's groups of two,
 * a group skipped where the kernel skips it) and must give W_hh times a random vector, as the matrix does.
 */
class PackedPairsTest {

    /** The kernel's slots a group (SPRNN_LOAD_AHEAD for warps of one row). */
    private static final int GROUP = 2;

    /**
     * {@code W_hh x} as the sparse kernel with pairs computes it from {@code p} on {@code ctas} CTAs: per warp the groups
     * of its own slots up to its row's end, a helper's groups of overflow slots up to its last, the long row adding its
     * helper's overflow sum. Asserts the pairs are mutual, within one CTA, on distinct barriers 1..15 of it, that no warp
     * runs more than {@code O} slots and that every word the kernel skips is padding.
     */
    static double[] kernelProduct(PackedLayer p, int ctas, double[] x, Precision format) {
        int w = p.warps(), s = p.slotsPerLane(), o = p.pairSlots(), perCta = w / ctas;
        int[] re = p.kernelRowEnds();
        assertThat(re).hasSize(w + w * PackedLayer.PAIR_INFO);
        double[] own = new double[w];
        double[] over = new double[w];
        for (int gw = 0; gw < w; gw++) {
            int role = re[w + gw * 4], partner = re[w + gw * 4 + 1], bar = re[w + gw * 4 + 2], foreignEnd = re[w + gw * 4 + 3];
            int lastEnd = re[gw];
            assertThat(lastEnd).as("warp %d's own row within O", gw).isLessThan(o);
            if (role != 0) {
                assertThat(partner / perCta).as("warp %d's partner in its CTA", gw).isEqualTo(gw / perCta);
                assertThat(re[w + partner * 4]).as("warp %d's partner's role", gw).isEqualTo(3 - role);
                assertThat(re[w + partner * 4 + 1]).as("mutual pair").isEqualTo(gw);
                assertThat(re[w + partner * 4 + 2]).as("one barrier a pair").isEqualTo(bar);
                assertThat(bar).isBetween(1, PackedLayer.MAX_PAIRS_PER_CTA);
                for (int other = (gw / perCta) * perCta; other < (gw / perCta + 1) * perCta; other++) {
                    if (other != gw && other != partner && re[w + other * 4] != 0) {
                        assertThat(re[w + other * 4 + 2]).as("warp %d's barrier used by another pair", gw).isNotEqualTo(bar);
                    }
                }
            }
            if (role == 1) {
                assertThat(lastEnd).as("a long row fills its own slots").isEqualTo(o - 1);
            }
            if (role == 2) {
                assertThat(foreignEnd).isBetween(o, s - 1);
                assertThat(lastEnd + 1 + foreignEnd - o + 1).as("warp %d's slots with its partner's overflow", gw).isLessThanOrEqualTo(o);
            } else {
                assertThat(foreignEnd).isEqualTo(-1);
            }
            int g1 = (o + GROUP - 1) / GROUP;
            int groups = g1 + (s - o + GROUP - 1) / GROUP;
            boolean stopped = false;
            for (int g = 0; g < groups; g++) {
                int j0 = g < g1 ? g * GROUP : o + (g - g1) * GROUP;
                int jl = g < g1 ? o : s;
                boolean skip = stopped || (g < g1 ? j0 > lastEnd : j0 > foreignEnd);
                if (skip && (g >= g1 || foreignEnd < 0)) {
                    stopped = true;
                }
                for (int j = j0; j < Math.min(j0 + GROUP, jl); j++) {
                    for (int lane = 0; lane < 32; lane++) {
                        double t = term(p, format, x, (gw * s + j) * 32 + lane);
                        if (skip) {
                            assertThat(t).as("warp %d slot %d lane %d skipped by the kernel", gw, j, lane).isZero();
                        } else if (g < g1) {
                            own[gw] += t;
                        } else {
                            over[gw] += t;
                        }
                    }
                }
            }
            if (role != 2) {
                assertThat(over[gw]).as("warp %d helps no one", gw).isZero();
            }
        }
        double[] y = new double[p.hidden()];
        for (int gw = 0; gw < w; gw++) {
            int u = p.warpUnits()[gw];
            double sum = own[gw] + (re[w + gw * 4] == 1 ? over[re[w + gw * 4 + 1]] : 0);
            if (u >= 0) {
                y[u] = sum;
            } else {
                assertThat(sum).as("warp %d of no unit", gw).isZero();
            }
        }
        return y;
    }

    private static double term(PackedLayer p, Precision format, double[] x, int i) {
        int word = p.words()[i];
        int c = PackedWord.column(word);
        return PackedWord.value(word, format) * (c < p.hidden() ? x[c] : 0.0);
    }

    @Test
    void theKernelsReadingIsTheMatrix() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        int laidOut = 0;
        for (int trial = 0; trial < 80; trial++) {
            int h = 16 + rnd.nextInt(400);
            int ctas = 1 + rnd.nextInt(6);
            int warps = ctas * ((h + ctas - 1) / ctas + rnd.nextInt(4)); // one unit a warp at most
            int batch = 1 + rnd.nextInt(16);
            boolean contiguous = rnd.nextBoolean(), bank = rnd.nextBoolean(), wide = rnd.nextBoolean(), split = rnd.nextInt(4) == 0;
            WarpPlacement placement = WarpPlacement.values()[rnd.nextInt(WarpPlacement.values().length)];
            Precision format = rnd.nextBoolean() ? Precision.FP16 : Precision.BF16;
            CsrMatrix m = rnd.nextBoolean() ? PackedTailTest.magnitudePruned(CellType.RNN_RELU, h, 0.1 + 0.5 * rnd.nextDouble(), rnd.nextLong())
                    : PackedLayerTest.unevenRows(rnd, h, h, 0.05 + 0.3 * rnd.nextDouble());
            String what = String.format("seed %d trial %d: H=%d B=%d %d CTAs x %d warps contiguous=%s bank=%s wide=%s split=%s %s %s",
                    seed, trial, h, batch, ctas, warps / ctas, contiguous, bank, wide, split, format.id(), placement.id());
            PackedLayer p = PackedLayer.packPairs(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, true, bank, wide, format, split, placement);
            PackedLayer general = PackedLayer.pack(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, true, bank, wide, format, split, placement);
            int[] sizes = PackedLayer.pairSlotsPerLane(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, true, split, placement);
            assertThat(sizes == null).as(what).isEqualTo(p == null);
            if (p == null) {
                continue;
            }
            laidOut++;
            assertThat(sizes).as(what).containsExactly(p.pairSlots(), p.slotsPerLane());
            assertThat(p.pairSlots()).as(what + ": fewer own slots than the longest row").isLessThan(general.slotsPerLane());
            assertThat(p.unitsPerWarp()).isEqualTo(1);
            assertThat(p.compiledRowSlots()).isZero();
            assertThat(p.fullWarps()).isFalse();
            assertThat(p.stats().nonzeros()).isEqualTo(m.nnz());
            assertThat(p.warpUnits()).as(what + ": the general layout's warps").containsExactly(general.warpUnits());
            double[] x = new double[h];
            for (int c = 0; c < h; c++) {
                x[c] = rnd.nextDouble(-1, 1);
            }
            double[] got = kernelProduct(p, ctas, x, format);
            float[] dense = p.unpack(format);
            assertThat(dense).as(what + ": unpack").containsExactly(general.unpack(format));
            for (int r = 0; r < h; r++) {
                double want = 0, scale = 0;
                for (int c = 0; c < h; c++) {
                    want += dense[r * h + c] * x[c];
                    scale += Math.abs(dense[r * h + c] * x[c]);
                }
                assertThat(got[r]).as("%s: row %d", what, r).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-12 * (1 + scale)));
            }
            long[] sched = p.schedulerSlots(warps / ctas);
            long total = 0;
            for (long v : sched) {
                total += v;
            }
            long ownSlots = 0;
            for (int gw = 0; gw < warps; gw++) {
                ownSlots += p.rowEnds()[gw] + 1;
            }
            assertThat(total).as(what + ": the schedulers issue every warp's own and overflow slots").isGreaterThan(ownSlots - 1);
        }
        assertThat(laidOut).as("seed %d: trials laid out in pairs", seed).isGreaterThan(10);
    }

    @Test
    void noPairsForGatesEqualRowsOrSeveralRowsAWarp() {
        CsrMatrix gru = PackedTailTest.magnitudePruned(CellType.GRU, 64, 0.3, 3);
        assertThat(PackedLayer.packPairs(gru, CellType.GRU, 4, 2, 64, false, true, true, true, Precision.FP16, false, WarpPlacement.CTA)).isNull();
        CsrMatrix relu = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 64, 0.3, 3);
        assertThat(PackedLayer.packPairs(relu, CellType.RNN_RELU, 4, 2, 16, false, true, true, true, Precision.FP16, false, WarpPlacement.CTA))
                .as("four rows a warp").isNull();
        CsrMatrix equal = PackedLayerTest.rowsOfLength(64, 64, r -> 20);
        assertThat(PackedLayer.packPairs(equal, CellType.RNN_RELU, 4, 2, 64, false, true, true, true, Precision.FP16, false, WarpPlacement.CTA))
                .as("rows of equal length").isNull();
        assertThatThrownBy(() -> PackedLayer.packPairs(relu, CellType.RNN_RELU, 4, 3, 64, false, true, true, true, Precision.FP16, false,
                WarpPlacement.CTA)).isInstanceOf(SprnnException.class).hasMessageContaining("multiple of ctas");
    }

    @Test
    void thePlannerPairsAMagnitudePrunedLayerOnlyWhenAskedAndShorterThanItsLongestRow() {
        CsrMatrix relu30 = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 2304, 0.3, 5);
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        Plan plain = Plan.of(relu30, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withPlacement(WarpPlacement.CTA));
        Plan paired = Plan.of(relu30, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withPlacement(WarpPlacement.CTA).withPairs(true));
        assertThat(plain.spec().pairSlots()).isZero();
        assertThat(paired.spec().pairSlots()).as(paired.describe()).isPositive().isLessThan(plain.spec().slotsPerLane());
        assertThat(paired.spec().name()).contains("_pairs" + paired.spec().pairSlots());
        assertThat(paired.spec().defines()).containsEntry("SPRNN_PAIR_SLOTS", Integer.toString(paired.spec().pairSlots()));
        assertThat(paired.spec().registerSlots()).isEqualTo(plain.spec().registerSlots());
        assertThat(paired.fits()).isTrue();
        // rows of equal length keep the general layout
        CsrMatrix equal = PackedLayerTest.rowsOfLength(2304, 2304, r -> 691);
        assertThat(Plan.of(equal, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withPairs(true)).spec().pairSlots()).isZero();
    }
}
