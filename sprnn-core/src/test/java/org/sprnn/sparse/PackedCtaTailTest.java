package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/**
 * {@link PackedLayer#packCtaTail}: warps of one row whose rows are of unequal length share a tail across their CTA. Each
 * layout is read here the way the kernel reads it (the CTA tail's entries from {@link PackedLayer#kernelRowEnds} at the
 * kernel's offsets, made CTA-local as the kernel makes them; every lane's tail sums left in the CTA's buffer, each row's
 * lanes adding their entries, then its own slots) and must give W_hh times a random vector, as the matrix does.
 */
class PackedCtaTailTest {

    /**
     * {@code W_hh x} as the sparse kernel with a CTA tail computes it from {@code p} on {@code ctas} CTAs: per CTA the
     * tail sums of every lane (slots {@code 0 .. T-1}), then per warp its row's own slots plus the sums its lanes' entries
     * name. Asserts every entry names a lane of the warp's own CTA and no lane is named twice.
     */
    static double[] kernelProduct(PackedLayer p, int ctas, double[] x, Precision format) {
        int w = p.warps(), s = p.slotsPerLane(), t = p.tailSlots(), k = p.tailEntries(), perCta = w / ctas;
        int[] re = p.kernelRowEnds();
        assertThat(re).hasSize(w + w * k * 32);
        double[] part = new double[w * 32];
        for (int gw = 0; gw < w; gw++) {
            for (int lane = 0; lane < 32; lane++) {
                for (int j = 0; j < t; j++) {
                    part[gw * 32 + lane] += term(p, format, x, (gw * s + j) * 32 + lane);
                }
            }
        }
        boolean[] named = new boolean[w * 32];
        double[] y = new double[p.hidden()];
        for (int gw = 0; gw < w; gw++) {
            int cta = gw / perCta;
            double sum = 0;
            for (int lane = 0; lane < 32; lane++) {
                for (int j = t; j < s; j++) {
                    sum += term(p, format, x, (gw * s + j) * 32 + lane);
                }
                for (int e = 0; e < k; e++) {
                    int g = re[w + (gw * k + e) * 32 + lane];
                    if (g < 0) {
                        continue;
                    }
                    int local = g - cta * perCta * 32; // as the kernel's csrc
                    assertThat(local).as("warp %d lane %d entry %d: lane %d of its CTA", gw, lane, e, local).isBetween(0, perCta * 32 - 1);
                    assertThat(named[g]).as("tail lane %d named twice", g).isFalse();
                    named[g] = true;
                    sum += part[cta * perCta * 32 + local];
                }
            }
            int u = p.warpUnits()[gw];
            if (u >= 0) {
                assertThat(p.rowEnds()[gw]).isEqualTo(s - 1);
                y[u] = sum;
            } else {
                assertThat(sum).as("warp %d of no unit", gw).isZero();
            }
        }
        for (int c = 0; c < w * 32; c++) { // a lane no row adds holds only padding
            if (!named[c]) {
                assertThat(part[c]).as("tail lane %d of no row", c).isZero();
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
        for (int trial = 0; trial < 60; trial++) {
            int h = 16 + rnd.nextInt(300);
            int ctas = 1 + rnd.nextInt(6);
            int warps = ctas * ((h + ctas - 1) / ctas + rnd.nextInt(4)); // one unit a warp at most
            int batch = 1 + rnd.nextInt(PackedLayer.MAX_CTA_TAIL_PADDED_BATCH); // where the CTA tail applies
            boolean contiguous = rnd.nextBoolean(), bank = rnd.nextBoolean(), wide = rnd.nextBoolean(), split = rnd.nextInt(4) == 0;
            Precision format = rnd.nextBoolean() ? Precision.FP16 : Precision.BF16;
            CsrMatrix m = rnd.nextBoolean() ? PackedTailTest.magnitudePruned(CellType.RNN_RELU, h, 0.1 + 0.5 * rnd.nextDouble(), rnd.nextLong())
                    : PackedLayerTest.unevenRows(rnd, h, h, 0.05 + 0.3 * rnd.nextDouble());
            String what = String.format("seed %d trial %d: H=%d B=%d %d CTAs x %d warps contiguous=%s bank=%s wide=%s split=%s %s",
                    seed, trial, h, batch, ctas, warps / ctas, contiguous, bank, wide, split, format.id());
            PackedLayer p = PackedLayer.packCtaTail(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, bank, wide, format, split);
            int longest = 0;
            for (int r = 0; r < h; r++) {
                longest = Math.max(longest, BankAwareOrder.slotColumns((split ? 2 : 1) * m.rowNnz(r)));
            }
            assertThat(PackedLayer.ctaTailSlotsPerLane(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, split)).as(what)
                    .isEqualTo(p == null ? 0 : p.slotsPerLane());
            if (p == null) {
                continue;
            }
            laidOut++;
            assertThat(p.slotsPerLane()).as(what + ": fewer slots than the longest row").isLessThan(longest);
            assertThat(p.tailSlots()).as(what).isBetween(1, Math.min(PackedLayer.MAX_TAIL_SLOTS, p.slotsPerLane() - 1));
            assertThat(p.tailEntries()).as(what).isBetween(1, PackedLayer.MAX_TAIL_ENTRIES);
            assertThat(p.unitsPerWarp()).isEqualTo(1);
            assertThat(p.compiledRowSlots()).isZero();
            assertThat(p.stats().nonzeros()).isEqualTo(m.nnz());
            double[] x = new double[h];
            for (int c = 0; c < h; c++) {
                x[c] = rnd.nextDouble(-1, 1);
            }
            double[] got = kernelProduct(p, ctas, x, format);
            float[] dense = p.unpack(format);
            PackedLayer general = PackedLayer.pack(m, CellType.RNN_RELU, batch, ctas, warps, contiguous, true, bank, wide, format, split);
            assertThat(dense).as(what + ": unpack").containsExactly(general.unpack(format));
            for (int r = 0; r < h; r++) {
                double want = 0, scale = 0;
                for (int c = 0; c < h; c++) {
                    want += dense[r * h + c] * x[c];
                    scale += Math.abs(dense[r * h + c] * x[c]);
                }
                assertThat(got[r]).as("%s: row %d", what, r).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-12 * (1 + scale)));
            }
            if (contiguous) { // each CTA's units one ascending range (the cluster exchange's blocks)
                for (int c = 0; c < ctas; c++) {
                    int prev = -1;
                    for (int gw = c * (warps / ctas); gw < (c + 1) * (warps / ctas); gw++) {
                        int u = p.warpUnits()[gw];
                        if (u >= 0) {
                            assertThat(u).as(what).isGreaterThan(prev);
                            prev = u;
                        }
                    }
                }
            }
        }
        assertThat(laidOut).as("seed %d: trials laid out with a CTA tail", seed).isGreaterThan(10);
    }

    @Test
    void noLayoutForGateRowsSeveralUnitsAWarpOrEqualRows() {
        CsrMatrix gru = PackedTailTest.magnitudePruned(CellType.GRU, 64, 0.3, 4);
        assertThat(PackedLayer.packCtaTail(gru, CellType.GRU, 4, 2, 64, false, true, true, Precision.FP16, false)).isNull();
        CsrMatrix relu = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 64, 0.3, 4);
        assertThat(PackedLayer.packCtaTail(relu, CellType.RNN_RELU, 4, 2, 16, false, true, true, Precision.FP16, false))
                .as("64 units on 16 warps").isNull();
        CsrMatrix equal = PackedLayerTest.rowsOfLength(64, 64, r -> 40);
        assertThat(PackedLayer.packCtaTail(equal, CellType.RNN_RELU, 4, 2, 64, false, true, true, Precision.FP16, false))
                .as("rows of 40: 2 slots each, no tail takes fewer").isNull();
        assertThatThrownBy(() -> PackedLayer.packCtaTail(relu, CellType.RNN_RELU, 4, 3, 64, false, true, true, Precision.FP16, false))
                .isInstanceOf(SprnnException.class).hasMessageContaining("multiple of ctas");
    }

    @Test
    void oneVeryLongRowAmongShortOnesIsQuick() {
        // relu 4000: every row 3 nonzeros but one of 4000 (a hostile file's shape): one CTA's lanes cannot hold its
        // excess, so no layout; the search is bounded by the longest row's slots and the widest tail
        int h = 4000;
        CsrMatrix w = PackedLayerTest.rowsOfLength(h, h, r -> r == 7 ? h : 3);
        long t0 = System.nanoTime();
        int s = PackedLayer.ctaTailSlotsPerLane(w, CellType.RNN_RELU, 4, 132, 132 * 31, false, false);
        assertThat((System.nanoTime() - t0) / 1e9).as("one shape search, seconds").isLessThan(10);
        assertThat(s == 0 || s < 125).as("S %d", s).isTrue();
    }

    @Test
    void thePlanTakesItOnlyWhenAskedAndWhereItSavesSlots() {
        CsrMatrix w = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 2304, 0.3, 16);
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        Plan plain = Plan.of(w, CellType.RNN_RELU, 4, h100, PlanOptions.defaults());
        Plan cta = Plan.of(w, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withCtaTails(true));
        assertThat(plain.spec().tailEntries()).isZero();
        assertThat(cta.spec().tailEntries()).as(cta.describe()).isPositive();
        assertThat(cta.spec().slotsPerLane()).as(cta.describe() + " vs " + plain.describe()).isLessThan(plain.spec().slotsPerLane());
        assertThat(cta.spec().name()).contains("_ctail" + cta.spec().tailSlots() + "k" + cta.spec().tailEntries());
        assertThat(cta.spec().defines()).containsEntry("SPRNN_CTA_TAIL", Integer.toString(cta.spec().tailSlots()))
                .containsEntry("SPRNN_CTA_TAIL_ENTRIES", Integer.toString(cta.spec().tailEntries())).doesNotContainKey("SPRNN_TAIL_SLOTS");
        assertThat(cta.spec().sharedMemoryBytes() - cta.spec().tier2Bytes())
                .isEqualTo(cta.spec().toBuilder().tailSlots(0).tailEntries(0).build().sharedMemoryBytesWithoutTier2()
                        + 2L * cta.spec().warpsPerCta() * 32 * cta.spec().paddedBatch() * 4);
        assertThat(cta.fits()).as(cta.describe()).isTrue();
        // rows alike (N a row): the general layout, as measured
        CsrMatrix equal = PackedLayerTest.rowsOfLength(2304, 2304, r -> 691);
        assertThat(Plan.of(equal, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withCtaTails(true)).spec().tailEntries()).isZero();
        // the cluster exchange: units stay in contiguous ranges per CTA
        CsrMatrix small = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 256, 0.3, 3);
        Plan cluster = Plan.of(small, CellType.RNN_RELU, 4, h100, PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER).withCtaTails(true));
        if (cluster.spec().tailEntries() > 0) {
            assertThat(cluster.layout().warpUnits()).isNotEmpty();
        }
    }

    @Test
    void theKernelChecksCtaTailCasesPlanIt() {
        // SparsePersistentSelfTest's and the full matrix's "cta tail" cases: not vacuous
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        PlanOptions cta = PlanOptions.defaults().withCtaTails(true);
        for (CellType c : new CellType[] {CellType.RNN_RELU, CellType.RNN_TANH}) {
            CsrMatrix m1152 = CsrMatrix.of(org.sprnn.model.SyntheticModels.randomUnequalRows(c, 24, 1152, 1, 0.1, 1.0, 9).layers().get(0).wHh());
            Plan p4 = Plan.of(m1152, c, 4, h100, cta); // (at batch 16 the cluster's warps hold 4 units: the warps' own tail)
            assertThat(p4.spec().tailEntries()).as(p4.describe()).isPositive();
            CsrMatrix m300 = CsrMatrix.of(org.sprnn.model.SyntheticModels.randomUnequalRows(c, 24, 300, 1, 0.3, 1.0, 9).layers().get(0).wHh());
            for (ExchangeMode e : ExchangeMode.values()) {
                Plan p = Plan.of(m300, c, 3, h100, cta.withExchange(e));
                assertThat(p.spec().tailEntries()).as(e + ": " + p.describe()).isPositive();
            }
        }
        CsrMatrix m2304 = CsrMatrix.of(org.sprnn.model.SyntheticModels.randomUnequalRows(CellType.RNN_RELU, 24, 2304, 1, 0.3, 1.0, 9)
                .layers().get(0).wHh());
        Plan p = Plan.of(m2304, CellType.RNN_RELU, 4, h100, cta);
        assertThat(p.spec().tailEntries()).as(p.describe()).isPositive();
    }

    @Test
    void wideBatchesForcedPartitionsAndTheDefaultPathKeepTheirLayouts() {
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        CsrMatrix w = PackedTailTest.magnitudePruned(CellType.RNN_RELU, 1536, 0.3, 7);
        // padded batch above 8: no CTA tail (the kernel's entries spilled registers at 16)
        assertThat(PackedLayer.ctaTailSlotsPerLane(w, CellType.RNN_RELU, 16, 132, 132 * 12, false, false)).isZero();
        assertThat(Plan.of(w, CellType.RNN_RELU, 32, h100, PlanOptions.defaults().withCtaTails(true)).spec().tailEntries()).isZero();
        // a forced partition takes the CTA tail only where it fits, else the layout without it
        for (int warps : new int[] {12, 16, 24}) {
            Plan p = Plan.of(w, CellType.RNN_RELU, 8, h100, PlanOptions.defaults().withCtaTails(true).withPartition(0, warps));
            Plan plain = Plan.of(w, CellType.RNN_RELU, 8, h100, PlanOptions.defaults().withPartition(0, warps));
            assertThat(p.fits() || !plain.fits()).as(p.describe()).isTrue();
            assertThat(p.spec().warpsPerCta()).isEqualTo(warps);
        }
        // the default options reserve nothing for the tails' sums: a warp-tail plan's shared memory as before them
        CsrMatrix lstm = PackedTailTest.magnitudePruned(CellType.LSTM, 256, 0.2, 5);
        Plan tail = Plan.of(lstm, CellType.LSTM, 4, h100, PlanOptions.defaults());
        assertThat(tail.spec().tailSlots()).isPositive();
        assertThat(tail.spec().tailSmem()).isFalse();
        assertThat(tail.spec().sharedMemoryBytesWithoutTier2()).isEqualTo(tail.spec().toBuilder().tailSlots(0).rowSlots(0)
                .uniformSlots(false).build().sharedMemoryBytesWithoutTier2());
        Plan smem = Plan.of(lstm, CellType.LSTM, 4, h100, PlanOptions.defaults().withTailSmem(true));
        assertThat(smem.spec().tailSmem()).isTrue();
        assertThat(smem.spec().defines()).containsEntry("SPRNN_TAIL_SMEM", "1");
        assertThat(smem.spec().name()).endsWith("_tsmem");
    }

    @Test
    void theKernelChecksTailSmemCasesPlanIt() {
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        for (CellType c : new CellType[] {CellType.GRU, CellType.LSTM}) {
            CsrMatrix m = CsrMatrix.of(org.sprnn.model.SyntheticModels.randomUnequalRows(c, 24, 1152, 1, 0.1, 1.0, 9).layers().get(0).wHh());
            Plan p = Plan.of(m, c, 4, h100, PlanOptions.defaults().withTailSmem(true));
            assertThat(p.spec().tailSmem()).as(p.describe()).isTrue();
        }
    }

    @Test
    void aSpecRefusesACtaTailItCannotRun() {
        KernelSpec.Builder b = KernelSpec.builder().cell(CellType.RNN_RELU).hidden(96).batch(4).weights(Precision.FP16).ctas(2)
                .warpsPerCta(48).slotsPerLane(6).registerSlots(6).unitsPerWarp(1).wideLoads(true).bankAware(true)
                .exchange(ExchangeMode.TIMESTAMPS).balanced(true).smArch(90);
        assertThat(b.tailSlots(2).tailEntries(1).warpsPerCta(24).build().defines()).containsEntry("SPRNN_CTA_TAIL", "2");
        assertThatThrownBy(() -> b.tailSlots(6).tailEntries(1).build()).isInstanceOf(SprnnException.class).hasMessageContaining("tailEntries");
        assertThatThrownBy(() -> b.tailSlots(2).tailEntries(9).build()).isInstanceOf(SprnnException.class).hasMessageContaining("tailEntries");
        assertThatThrownBy(() -> b.tailSlots(2).tailEntries(1).unitsPerWarp(2).build()).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> b.tailSlots(0).tailEntries(1).unitsPerWarp(1).build()).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> b.cell(CellType.GRU).tailSlots(2).tailEntries(1).build()).isInstanceOf(SprnnException.class);
    }
}
