package org.sprnn.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.sparse.CsrMatrix;

/** Capacity planning against an assumed H100: what fits, where, and the refusals with their numbers. */
class PlanTest {
    private static final DeviceLimits H100 = DeviceLimits.h100Sxm();

    private static CsrMatrix rows(CellType cell, int h, double d) {
        return CsrMatrix.of(SyntheticModels.sparse(cell.gates() * h, h, d, new SplittableRandom(h * 31L + cell.ordinal())));
    }

    @Test
    void gridBarrierStagesThroughAClusterMulticastOnlyAboveFortyKilobytesOfH() {
        // H 5760, batch 4: 46 080 staged bytes per CTA, 132 CTAs on sm_90: pairs share the copy
        KernelSpec big = spec(5760, 4, 132, ExchangeMode.GRID_BARRIER, 90);
        assertThat(big.stageCluster()).isEqualTo(2);
        assertThat(big.defines()).containsEntry("SPRNN_STAGE_CLUSTER", "2").containsEntry("SPRNN_STAGE_ASYNC", "2");
        assertThat(big.name()).endsWith("_mc2");
        // 4096 (32 KB): the load loop measured faster; odd CTA counts, Ampere and the other exchanges never pair
        assertThat(spec(4096, 4, 132, ExchangeMode.GRID_BARRIER, 90).stageCluster()).isEqualTo(1);
        assertThat(spec(5760, 4, 131, ExchangeMode.GRID_BARRIER, 90).stageCluster()).isEqualTo(1);
        assertThat(spec(5760, 4, 132, ExchangeMode.GRID_BARRIER, 80).stageCluster()).isEqualTo(1);
        assertThat(spec(5760, 4, 132, ExchangeMode.TIMESTAMPS, 90).stageCluster()).isEqualTo(1);
        assertThat(spec(4096, 4, 132, ExchangeMode.GRID_BARRIER, 90).defines()).doesNotContainKey("SPRNN_STAGE_CLUSTER");
    }

    private static KernelSpec spec(int hidden, int batch, int ctas, ExchangeMode exchange, int arch) {
        return KernelSpec.builder().cell(CellType.RNN_RELU).hidden(hidden).batch(batch).weights(Precision.FP16).ctas(ctas).warpsPerCta(15)
                .slotsPerLane(54).registerSlots(44).unitsPerWarp(3).wideLoads(true).bankAware(true).exchange(exchange).balanced(true).smArch(arch).build();
    }

    @Test
    void paperPointFitsInOneClusterInRegisters() {
        Plan p = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER));
        System.out.println(p.describe());
        assertThat(p.fits()).as(p.describe()).isTrue();
        assertThat(p.spec().exchange()).isEqualTo(ExchangeMode.CLUSTER);
        assertThat(p.spec().ctas()).isEqualTo(16);
        assertThat(p.spec().sharedSlots()).as(p.describe()).isZero();
        assertThat(p.spec().name()).startsWith("sparse_persistent_rnn_relu_h1152_b4_k");
        assertThat(p.describe()).contains("fits       yes").contains("registers").contains("shared");
    }

    @Test
    void largeLayerGoesGridWideAndUsesTheSharedTier() {
        Plan p = Plan.of(rows(CellType.RNN_RELU, 5760, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        System.out.println(p.describe());
        assertThat(p.fits()).as(p.describe()).isTrue();
        assertThat(p.spec().exchange()).isEqualTo(ExchangeMode.GRID_BARRIER);
        assertThat(p.spec().sharedSlots()).as(p.describe()).isPositive();
        // staged in clusters of 8 on the 120 CTAs such clusters can hold: 16 warps of 3 units each, 54 slots a lane as
        // on 132 CTAs x 15 warps (measured 4.11 against 4.42 us/step in the harness, results/kernel/session5)
        assertThat(p.spec().ctas()).isEqualTo(120);
        assertThat(p.spec().warpsPerCta()).isEqualTo(16);
        assertThat(p.spec().slotsPerLane()).isEqualTo(54);
        assertThat(p.spec().stageCluster()).isEqualTo(8);
        assertThat(p.spec().defines()).containsEntry("SPRNN_STAGE_CLUSTER", "8").containsEntry("SPRNN_STAGE_ASYNC", "2");
        // every warp's three units fill its 54 slots: the slot loop skips the padding-tail test
        assertThat(p.layout().fullWarps()).isTrue();
        assertThat(p.spec().uniformSlots()).isTrue();
        assertThat(p.spec().defines()).containsEntry("SPRNN_UNIFORM_SLOTS", "1");
        // every row 576 nonzeros, so 18 slots: the row ends (17, 35, 53 in every warp) are compiled in
        assertThat(p.layout().equalRowSlots()).isEqualTo(18);
        assertThat(p.spec().rowSlots()).isEqualTo(18);
        assertThat(p.spec().defines()).containsEntry("SPRNN_ROW_SLOTS", "18");
        assertThat(p.spec().name()).endsWith("_mc8_full_rows18");
        assertThat(p.describe()).contains("every row 18 slots: row ends compiled in");
        assertThat(p.describe()).contains("120 CTAs x 16 warps").contains("h staged by TMA multicast in clusters of 8");
        // each CTA one contiguous range of units (it costs no slot here): its h_t is one block of the exchange buffer
        assertThat(Plan.ctaContiguousIsFree(rows(CellType.RNN_RELU, 5760, 0.1), CellType.RNN_RELU, 4, 120, 16, PlanOptions.defaults())).isTrue();
        int[] units = p.layout().warpUnits();
        int perCta = units.length / p.spec().ctas();
        for (int c = 0; c < p.spec().ctas(); c++) {
            int lo = Integer.MAX_VALUE, hi = -1, n = 0;
            for (int i = c * perCta; i < (c + 1) * perCta; i++) {
                if (units[i] >= 0) {
                    lo = Math.min(lo, units[i]);
                    hi = Math.max(hi, units[i]);
                    n++;
                }
            }
            assertThat(hi - lo + 1).as("CTA %d", c).isEqualTo(n);
        }
    }

    @Test
    void warpsWithAPaddingTailKeepItsTest() {
        // 97 units over 8 warps: some warps hold fewer slots than S
        Plan p = Plan.of(rows(CellType.RNN_RELU, 97, 0.3), CellType.RNN_RELU, 3, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER).withPartition(4, 2));
        assertThat(p.layout().fullWarps()).as(p.describe()).isFalse();
        assertThat(p.spec().uniformSlots()).isFalse();
        assertThat(p.spec().defines()).doesNotContainKey("SPRNN_UNIFORM_SLOTS");
        int perWarp = p.layout().rowEnds().length / p.layout().warps();
        boolean shortWarp = false;
        for (int w = 0; w < p.layout().warps(); w++) {
            int last = -1;
            for (int i = 0; i < perWarp; i++) {
                last = Math.max(last, p.layout().rowEnds()[w * perWarp + i]);
            }
            shortWarp |= last < p.spec().slotsPerLane() - 1;
        }
        assertThat(shortWarp).isTrue();
    }

    @Test
    void rowEndsAreCompiledInOnlyWhereEveryRowOfEveryWarpTakesTheSameSlots() {
        // equal rows, but 97 units leave warps short of units: the row ends stay a run-time test
        Plan padded = Plan.of(rows(CellType.RNN_RELU, 97, 0.3), CellType.RNN_RELU, 3, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER).withPartition(4, 2));
        assertThat(padded.layout().equalRowSlots()).isZero();
        assertThat(padded.spec().rowSlots()).isZero();
        assertThat(padded.spec().defines()).doesNotContainKey("SPRNN_ROW_SLOTS");
        // every warp full, every row 115 nonzeros (4 slots); GRU: three gate rows a unit
        Plan gru = Plan.of(rows(CellType.GRU, 1152, 0.1), CellType.GRU, 4, H100, PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER));
        assertThat(gru.layout().equalRowSlots()).as(gru.describe()).isEqualTo(gru.spec().rowSlots()).isEqualTo(4);
        assertThat(gru.spec().rowSlots() * gru.spec().unitsPerWarp() * 3).isEqualTo(gru.spec().slotsPerLane());
        // the same layer with the general slot loop asked for
        Plan general = Plan.of(rows(CellType.GRU, 1152, 0.1), CellType.GRU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER).withCompiledRowEnds(false));
        assertThat(general.spec().rowSlots()).isZero();
        assertThat(general.spec().name()).doesNotContain("_rows");
        assertThat(general.layout().equalRowSlots()).isEqualTo(4);
        // one row a warp and every warp full (H 2304 on 128 x 18): alike rows, still the general loop, which has no
        // row-end test for one row
        Plan full = Plan.of(rows(CellType.RNN_RELU, 2304, 0.3), CellType.RNN_RELU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.TIMESTAMPS).withPartition(128, 18));
        assertThat(full.layout().equalRowSlots()).as(full.describe()).isEqualTo(22);
        assertThat(full.spec().rowSlots()).isZero();
        // three gate rows a warp, but warps without a unit (GRU 1152 on 132 x 9 = 1188 warps): not alike
        Plan spare = Plan.of(rows(CellType.GRU, 1152, 0.1), CellType.GRU, 4, H100, PlanOptions.defaults().withExchange(ExchangeMode.TIMESTAMPS));
        assertThat(spare.spec().warps()).as(spare.describe()).isEqualTo(1188);
        assertThat(spare.layout().equalRowSlots()).isZero();
        assertThat(spare.spec().rowSlots()).isZero();
        // rows of different lengths on 16 x 18 warps of 4 units: rows of 20 nonzeros take one slot each, compiled in;
        // one row of 40 among them (two slots): its second slot's words go to a shared tail of one slot (rows as pruning
        // leaves them, PackedLayer.packTail), the ends still compiled in; the general loop only where asked for
        PlanOptions fullWarps = PlanOptions.defaults().withExchange(ExchangeMode.CLUSTER).withPartition(16, 18);
        Plan even = Plan.of(CsrMatrix.of(new Tensor(new int[] {1152, 1152}, rowsOfLength(1152, 20, -1))), CellType.RNN_RELU, 4, H100, fullWarps);
        assertThat(even.layout().equalRowSlots()).as(even.describe()).isEqualTo(1);
        assertThat(even.spec().rowSlots()).isEqualTo(1);
        Plan uneven = Plan.of(CsrMatrix.of(new Tensor(new int[] {1152, 1152}, rowsOfLength(1152, 20, 7))), CellType.RNN_RELU, 4, H100, fullWarps);
        assertThat(uneven.layout().equalRowSlots()).as(uneven.describe()).isZero();
        assertThat(uneven.spec().rowSlots()).isEqualTo(1);
        assertThat(uneven.spec().tailSlots()).isEqualTo(1);
        assertThat(uneven.spec().slotsPerLane()).isEqualTo(4 + 1);
        Plan runtime = Plan.of(CsrMatrix.of(new Tensor(new int[] {1152, 1152}, rowsOfLength(1152, 20, 7))), CellType.RNN_RELU, 4, H100,
                fullWarps.withCompiledRowEnds(false));
        assertThat(runtime.spec().rowSlots()).isZero();
        assertThat(runtime.spec().tailSlots()).isZero();
        assertThat(runtime.spec().slotsPerLane()).isEqualTo(5);
    }

    /** A square matrix of {@code k} nonzeros a row (row {@code longRow}, if any, {@code 2k}). */
    private static double[] rowsOfLength(int h, int k, int longRow) {
        double[] dense = new double[h * h];
        SplittableRandom rnd = new SplittableRandom(3);
        for (int r = 0; r < h; r++) {
            for (int i = 0; i < (r == longRow ? 2 * k : k); i++) {
                dense[r * h + (r * 131 + i * 37) % h] = rnd.nextDouble(-1, 1) + 2;
            }
        }
        return dense;
    }

    @Test
    void withoutEightCtaClustersTheGridBarrierStagesInPairsOnEverySm() {
        DeviceLimits noCount = new DeviceLimits(H100.name(), 132, 65536, 255, 233472, 232448, 1024, 90, 16, true, 0);
        Plan p = Plan.of(rows(CellType.RNN_RELU, 5760, 0.1), CellType.RNN_RELU, 4, noCount, PlanOptions.defaults());
        assertThat(p.spec().ctas()).as(p.describe()).isEqualTo(132);
        assertThat(p.spec().stageCluster()).isEqualTo(2);
        // a partition asked for keeps its CTAs (and the default pairs)
        Plan asked = Plan.of(rows(CellType.RNN_RELU, 5760, 0.1), CellType.RNN_RELU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER).withPartition(132, 15));
        assertThat(asked.spec().ctas()).isEqualTo(132);
        assertThat(asked.spec().stageCluster()).isEqualTo(2);
    }

    @Test
    void eightCtaClustersOnlyWhereTheyCostNoSlotsPerLane() {
        DeviceLimits noCount = new DeviceLimits(H100.name(), 132, 65536, 255, 233472, 232448, 1024, 90, 16, true, 0);
        int wide = 0;
        for (int h : new int[] {5376, 5760, 6144, 6400}) {
            CsrMatrix r = rows(CellType.RNN_RELU, h, 0.1);
            PlanOptions o = PlanOptions.defaults().withExchange(ExchangeMode.GRID_BARRIER);
            Plan p = Plan.of(r, CellType.RNN_RELU, 4, H100, o);
            Plan all = Plan.of(r, CellType.RNN_RELU, 4, noCount, o);
            if (p.spec().stageCluster() == 8) {
                wide++;
                assertThat(p.slotCost()).as("H %d: %s against %s", h, p.describe(), all.describe()).isLessThanOrEqualTo(all.slotCost());
                assertThat(p.spec().ctas()).isEqualTo(120);
            } else {
                assertThat(p.spec().ctas()).as("H %d", h).isEqualTo(all.spec().ctas());
            }
        }
        assertThat(wide).isPositive();
    }

    @Test
    void stagingClustersAreWholeAndOnlyForTheGridBarrier() {
        KernelSpec base = spec(5760, 4, 120, ExchangeMode.GRID_BARRIER, 90);
        assertThatThrownBy(() -> withStageCluster(base, 132, 8)).isInstanceOf(SprnnException.class).hasMessageContaining("dividing ctas");
        assertThatThrownBy(() -> withStageCluster(base, 120, 3)).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.RNN_RELU).hidden(5760).batch(4).weights(Precision.FP16).ctas(120).warpsPerCta(16)
                .slotsPerLane(54).registerSlots(44).unitsPerWarp(3).wideLoads(true).bankAware(true).exchange(ExchangeMode.TIMESTAMPS).balanced(true).smArch(90)
                .splitWeights(false).stageCluster(8).uniformSlots(false).rowSlots(0).build()).isInstanceOf(SprnnException.class);
        assertThat(withStageCluster(base, 120, 8).name()).endsWith("_mc8");
        assertThat(withStageCluster(base, 120, 1).defines()).doesNotContainKey("SPRNN_STAGE_CLUSTER");
    }

    private static KernelSpec withStageCluster(KernelSpec s, int ctas, int cluster) {
        return s.toBuilder().ctas(ctas).warpsPerCta(16).stageCluster(cluster).uniformSlots(false).rowSlots(0).build();
    }

    @Test
    void autoExchangePicksTheFasterPrediction() {
        Plan small = Plan.of(rows(CellType.RNN_TANH, 300, 0.1), CellType.RNN_TANH, 3, H100, PlanOptions.defaults());
        Plan paper = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(small.spec().exchange()).as(small.describe()).isEqualTo(ExchangeMode.CLUSTER);
        assertThat(paper.spec().exchange()).as(paper.describe()).isEqualTo(ExchangeMode.TIMESTAMPS);
        // measured on the H100 (results/kernel/session3, harness): timestamps 2.20 us/step, barrier 3.02
        Plan headline = Plan.of(rows(CellType.RNN_RELU, 2304, 0.3), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(headline.spec().exchange()).as(headline.describe()).isEqualTo(ExchangeMode.TIMESTAMPS);
        // and at 3456 and 5760 (two rounds of polls per thread) the barrier: 2.85 against 3.43, 4.70 against 6.58 us/step
        Plan mid = Plan.of(rows(CellType.RNN_RELU, 3456, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(mid.spec().exchange()).as(mid.describe()).isEqualTo(ExchangeMode.GRID_BARRIER);
        Plan large = Plan.of(rows(CellType.RNN_RELU, 5760, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(large.spec().exchange()).as(large.describe()).isEqualTo(ExchangeMode.GRID_BARRIER);
    }

    @Test
    void aStepOfLittleArithmeticFillsTheSchedulersWithWarps() {
        // 1152 / 10%: 4 slots a lane at 9 warps or 12 (the same registers per thread); 12 measured 1.15 us/step
        // against 1.45 (results/kernel/session3 run H). 2304 / 30% (22 slots) keeps 18 warps: 20 were slower.
        Plan paper = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(paper.spec().warpsPerCta()).as(paper.describe()).isEqualTo(12);
        assertThat(paper.spec().slotsPerLane()).as(paper.describe()).isLessThanOrEqualTo(Plan.EXCHANGE_BOUND_SLOTS);
        Plan headline = Plan.of(rows(CellType.RNN_RELU, 2304, 0.3), CellType.RNN_RELU, 4, H100, PlanOptions.defaults());
        assertThat(headline.spec().warpsPerCta()).as(headline.describe()).isEqualTo(18);
    }

    @Test
    void tooLargeIsRefusedWithTheCapacityNumbers() {
        Plan p = Plan.of(rows(CellType.LSTM, 4096, 1.0), CellType.LSTM, 4, H100, PlanOptions.defaults());
        assertThat(p.fits()).isFalse();
        assertThat(p.why()).contains("words per lane").contains("capacity");
        assertThatThrownBy(p::requireFits).isInstanceOf(SprnnException.class).hasMessageContaining("does not fit");
    }

    @Test
    void capacityIsExactAtTheBoundary() {
        // Exactly the words per lane the plan says fit must fit; one more slot must not.
        Plan p = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.TIMESTAMPS));
        KernelSpec s = p.spec();
        long room = H100.sharedMemoryPerBlockOptin() - s.sharedMemoryBytesWithoutTier2();
        assertThat((long) p.sharedSlotsAvailable() * s.threadsPerCta() * 4).isLessThanOrEqualTo(room);
        assertThat((long) (p.sharedSlotsAvailable() + 1) * s.threadsPerCta() * 4).isGreaterThan(room);
        assertThat(p.registersPerThread()).isEqualTo(Math.min(255, (16384 / (((s.warpsPerCta() + 3) / 4) * 32)) & ~7));
        assertThat(Plan.registersPerThread(H100, 15)).as("15 warps: 4 on one sub-partition").isEqualTo(128);
        assertThat(Plan.registersPerThread(H100, 9)).isEqualTo(168);
        assertThat(Plan.registersPerThread(H100, 4)).isEqualTo(255);
    }

    @Test
    void specValidatesItselfAndNamesEveryVariant() {
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(17).warpsPerCta(16)
                .slotsPerLane(8).registerSlots(8).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90).build()).isInstanceOf(SprnnException.class).hasMessageContaining("ctas 17");
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(8).registerSlots(9).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90).build()).hasMessageContaining("registerSlots 9");
        KernelSpec a = KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(8).registerSlots(8).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90).build();
        KernelSpec b = KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(8).registerSlots(8).unitsPerWarp(2).wideLoads(false).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90).build();
        assertThat(a.name()).isNotEqualTo(b.name()).startsWith("sparse_persistent_rnn_gru_h1152_b4_k8_sm90");
        assertThat(a.defines()).containsEntry("SPRNN_CELL", "2").containsEntry("SPRNN_PADDED_BATCH", "4").containsEntry("SPRNN_EXCHANGE", "2");
        // compiled row ends: 2 units x 3 gate rows of L slots must be the S slots, in full warps, more than one row a warp
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(8).registerSlots(8).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90)
                .splitWeights(false).stageCluster(1).uniformSlots(true).rowSlots(2).build()).hasMessageContaining("rowSlots 2");
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(6).registerSlots(6).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90)
                .splitWeights(false).stageCluster(1).uniformSlots(false).rowSlots(1).build()).hasMessageContaining("full warps");
        assertThatThrownBy(() -> KernelSpec.builder().cell(CellType.RNN_RELU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(4).registerSlots(4).unitsPerWarp(1).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90)
                .splitWeights(false).stageCluster(1).uniformSlots(true).rowSlots(4).build()).hasMessageContaining("more than one row");
        KernelSpec rows = KernelSpec.builder().cell(CellType.GRU).hidden(1152).batch(4).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                .slotsPerLane(6).registerSlots(6).unitsPerWarp(2).wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90)
                .splitWeights(false).stageCluster(1).uniformSlots(true).rowSlots(1).build();
        assertThat(rows.name()).endsWith("_full_rows1");
        assertThat(rows.defines()).containsEntry("SPRNN_ROW_SLOTS", "1");
    }

    @Test
    void halfTheDeviceHoldsHalfTheLayerAndPlansOnHalfTheSms() {
        DeviceLimits h100 = DeviceLimits.h100Sxm(), half = h100.share(2);
        assertThat(half.smCount()).isEqualTo(66);
        assertThat(half.clustersOf8()).isEqualTo(7);
        assertThat(half.name()).endsWith("(1/2: 66 SMs)");
        assertThat(h100.share(1)).isSameAs(h100);
        assertThatThrownBy(() -> h100.share(0)).isInstanceOf(SprnnException.class).hasMessageContaining("0 shares of 132 SMs");
        assertThatThrownBy(() -> h100.share(133)).isInstanceOf(SprnnException.class);
        PlanOptions options = PlanOptions.defaults();
        // 1152 at 10% (the paper's Table 1 layer) fits either way; 4608 at 30% (figure 2: the largest at 30%) fits the whole device, not half
        CsrMatrix small = CsrMatrix.of(SyntheticModels.random(CellType.RNN_RELU, 8, 1152, 1, 0.1, 1.0, 5).layer(0, 0).wHh());
        Plan onHalf = Plan.of(small, CellType.RNN_RELU, 4, half, options);
        assertThat(onHalf.fits()).isTrue();
        assertThat(onHalf.spec().ctas()).isLessThanOrEqualTo(66);
        CsrMatrix big = CsrMatrix.of(SyntheticModels.random(CellType.RNN_RELU, 8, 4608, 1, 0.3, 1.0, 6).layer(0, 0).wHh());
        assertThat(Plan.of(big, CellType.RNN_RELU, 4, h100, options).fits()).isTrue();
        assertThat(Plan.of(big, CellType.RNN_RELU, 4, half, options).fits()).isFalse();
    }

    @Test
    void warpPlacementSurvivesEveryOtherOptionAndThePlanNamesItsBusiestScheduler() {
        org.sprnn.sparse.WarpPlacement cta = org.sprnn.sparse.WarpPlacement.CTA;
        PlanOptions o = PlanOptions.defaults().withPlacement(cta);
        for (PlanOptions x : java.util.List.of(o.withExchange(ExchangeMode.TIMESTAMPS), o.withPartition(1, 2), o.withSwitches(true, false, true),
                o.withCompiledRowEnds(false), o.withSplitWeights(true), o.withDense(true), o.withTailSmem(true), o.withCtaTails(true),
                o.withTails(false))) {
            assertThat(x.placement()).as(x.toString()).isEqualTo(cta);
        }
        assertThat(PlanOptions.defaults().placement()).isEqualTo(org.sprnn.sparse.WarpPlacement.DEALT);
        // rows of unequal length, one a warp, on the timestamped exchange: dealt puts the longest together
        Plan dealt = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.TIMESTAMPS));
        Plan c = Plan.of(rows(CellType.RNN_RELU, 1152, 0.1), CellType.RNN_RELU, 4, H100,
                PlanOptions.defaults().withExchange(ExchangeMode.TIMESTAMPS).withPlacement(cta));
        java.util.regex.Pattern line = java.util.regex.Pattern.compile("(?m)^schedulers (\\d+) slots on the busiest of (\\d+) warp schedulers");
        java.util.regex.Matcher md = line.matcher(dealt.describe());
        java.util.regex.Matcher mc = line.matcher(c.describe());
        assertThat(md.find()).as(dealt.describe()).isTrue();
        assertThat(mc.find()).as(c.describe()).isTrue();
        assertThat(Integer.parseInt(mc.group(1))).as(c.describe()).isLessThanOrEqualTo(Integer.parseInt(md.group(1)));
        assertThat(Integer.parseInt(md.group(2))).isEqualTo(4 * dealt.spec().ctas());
        assertThat(dealt.describe()).containsPattern("(?m)^schedulers .*; \\d+ of " + dealt.spec().ctas() + " CTAs hold rows$");
    }
}
