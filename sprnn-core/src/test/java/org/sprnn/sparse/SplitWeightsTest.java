package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;

/**
 * Split weights: each nonzero packed as two words of its column, the 16-bit rounding and the rounded residual, so the
 * kernel's sum over a row's words uses {@code hi + lo} (within 2^-22 relative for fp16) instead of {@code hi}.
 */
class SplitWeightsTest {

    /** The bound {@link Precision#encodeResidual} documents for fp16: 2^-22 relative, 2^-25 absolute below 2^-3. */
    static double fp16Bound(float v) {
        return Math.max(0x1p-22 * Math.abs(v), 0x1p-25);
    }

    @Test
    void hiPlusLoIsTheWeightWithinTwoToTheMinus22() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        double worstRelative = 0;
        for (int i = 0; i < 200_000; i++) {
            // magnitudes from 2^-30 to 2^15 (below fp16's 65504), both signs
            float v = (float) ((rnd.nextBoolean() ? 1 : -1) * Math.pow(2, rnd.nextDouble(-30, 15.9)));
            float hi = Precision.FP16.decode(Precision.FP16.encode(v));
            float lo = Precision.FP16.decode(Precision.FP16.encodeResidual(v));
            double err = Math.abs((double) hi + lo - v);
            assertThat(err).as("seed %d: v %s hi %s lo %s", seed, v, hi, lo).isLessThanOrEqualTo(fp16Bound(v));
            assertThat((double) Math.abs(v - hi)).as("seed %d: v %s: hi is the plain rounding", seed, v).isLessThanOrEqualTo(0x1p-11 * Math.abs(v) + 0x1p-25);
            if (Math.abs(v) >= 0x1p-3) {
                worstRelative = Math.max(worstRelative, err / Math.abs(v));
            }
            float bhi = Precision.BF16.decode(Precision.BF16.encode(v));
            float blo = Precision.BF16.decode(Precision.BF16.encodeResidual(v));
            assertThat(Math.abs((double) bhi + blo - v)).as("seed %d: bf16 v %s", seed, v).isLessThanOrEqualTo(0x1p-16 * Math.abs(v));
        }
        // the bound is not loose by orders of magnitude: some weight comes within a factor 4 of it
        assertThat(worstRelative).as("seed %d", seed).isGreaterThan(0x1p-24);
        assertThat(Precision.FP16.encodeResidual(0.5f)).as("an fp16 value has no residual").isEqualTo((short) 0);
        assertThat(Precision.FP16.decode(Precision.FP16.encodeResidual(1f + 0x1p-12f))).isEqualTo(0x1p-12f);
    }

    /** Random rows of uneven lengths (some empty, some long), values over several binades. */
    static CsrMatrix rows(SplittableRandom rnd, int rows, int cols, double d) {
        return PackedLayerTest.unevenRows(rnd, rows, cols, d, 5, x -> x.nextGaussian() * Math.pow(2, x.nextInt(-6, 3)));
    }

    @Test
    void everyRowHoldsEachColumnTwiceAndItsWordsSumToTheWeight() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        for (CellType cell : CellType.values()) {
            for (int trial = 0; trial < 4; trial++) {
                int h = 20 + rnd.nextInt(250);
                int batch = 1 + rnd.nextInt(16);
                int ctas = 1 + rnd.nextInt(4);
                int warps = ctas * (1 + rnd.nextInt(8));
                boolean contiguous = rnd.nextBoolean();
                boolean balanced = rnd.nextBoolean();
                boolean bank = rnd.nextBoolean();
                boolean wide = rnd.nextBoolean();
                CsrMatrix w = rows(rnd, cell.gates() * h, h, 0.08);
                PackedLayer p = PackedLayer.pack(w, cell, batch, ctas, warps, contiguous, balanced, bank, wide, Precision.FP16, true);
                String what = String.format("seed %d %s H=%d B=%d ctas=%d warps=%d contiguous=%s balanced=%s bank=%s wide=%s",
                        seed, cell.id(), h, batch, ctas, warps, contiguous, balanced, bank, wide);
                assertThat(p.splitWeights()).isTrue();
                assertThat(p.wordsPerNonzero()).isEqualTo(2);
                assertThat(p.stats().nonzeros()).as(what).isEqualTo(w.nnz());
                int g = cell.gates();
                int[] realWords = {0};
                for (int wp = 0; wp < warps; wp++) {
                    int start = 0;
                    for (int i = 0; i < p.unitsPerWarp(); i++) {
                        int u = p.warpUnits()[wp * p.unitsPerWarp() + i];
                        if (u < 0) {
                            continue;
                        }
                        for (int gate = 0; gate < g; gate++) {
                            int end = p.rowEnds()[(wp * p.unitsPerWarp() + i) * g + gate];
                            Map<Integer, Integer> count = new HashMap<>();
                            Map<Integer, Double> sum = new HashMap<>();
                            Map<Integer, Float> hi = new HashMap<>();
                            PackedLayerTest.forEachWord(p, wp, start, end, (c, v) -> {
                                if (c >= h) {
                                    assertThat(v).as(what + ": padding value").isEqualTo(0f);
                                    return;
                                }
                                realWords[0]++;
                                count.merge(c, 1, Integer::sum);
                                sum.merge(c, (double) v, Double::sum);
                                // the larger of the two words is the plain fp16 rounding
                                hi.merge(c, v, (a, b) -> Math.abs(a) >= Math.abs(b) ? a : b);
                            });
                            int r = gate * h + u;
                            int[] cols = w.rowColumns(r);
                            float[] vals = w.rowValues(r);
                            assertThat(count).as(what + " row %d: columns", r).hasSize(cols.length);
                            assertThat(end - start + 1).as(what + " row %d: slots", r).isEqualTo(BankAwareOrder.slotColumns(2 * cols.length));
                            for (int x = 0; x < cols.length; x++) {
                                String at = String.format("%s row %d col %d w %s", what, r, cols[x], vals[x]);
                                assertThat(count.get(cols[x])).as(at + ": words").isEqualTo(2);
                                assertThat(Math.abs(sum.get(cols[x]) - vals[x])).as(at + ": hi + lo").isLessThanOrEqualTo(fp16Bound(vals[x]));
                                assertThat(hi.get(cols[x])).as(at + ": hi").isEqualTo(Float.float16ToFloat(Float.floatToFloat16(vals[x])));
                            }
                            start = end + 1;
                        }
                    }
                }
                assertThat((long) realWords[0]).as(what + ": words reading a column below H").isEqualTo(2L * w.nnz());
                assertThat(p.stats().wavefronts()).as(what).isLessThanOrEqualTo(p.stats().wavefrontsNatural());
            }
        }
    }

    @Test
    void slotsCountTheDoubledWords() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        for (CellType cell : CellType.values()) {
            int h = 64 + rnd.nextInt(200);
            CsrMatrix w = rows(rnd, cell.gates() * h, h, 0.1);
            int[] one = PackedLayer.unitSlots(w, cell);
            int[] two = PackedLayer.unitSlots(w, cell, true);
            for (int u = 0; u < h; u++) {
                int expect = 0;
                for (int gate = 0; gate < cell.gates(); gate++) {
                    expect += BankAwareOrder.slotColumns(2 * w.rowNnz(gate * h + u));
                }
                assertThat(two[u]).as("seed %d %s unit %d", seed, cell.id(), u).isEqualTo(expect).isGreaterThanOrEqualTo(one[u]);
            }
            for (boolean contiguous : new boolean[] {false, true}) {
                PackedLayer p = PackedLayer.pack(w, cell, 4, 2, 8, contiguous, true, true, true, Precision.FP16, true);
                assertThat(p.slotsPerLane()).as("seed %d %s contiguous %s", seed, cell.id(), contiguous)
                        .isEqualTo(PackedLayer.slotsPerLane(two, 4, 2, 8, contiguous, true));
                PackedLayer q = PackedLayer.pack(w, cell, 4, 2, 8, contiguous, true, true, true, Precision.FP16);
                assertThat(q.splitWeights()).isFalse();
                assertThat(p.slotsPerLane()).isGreaterThan(q.slotsPerLane());
                assertThat(p.summary()).contains("split weights");
            }
        }
    }

    @Test
    void splitIsFreeExactlyWhereNoRowHasMoreThan16Nonzeros() {
        SplittableRandom rnd = new SplittableRandom(3);
        assertThat(PackedLayer.splitCostsNoSlots(CsrMatrix.of(org.sprnn.model.SyntheticModels.sparse(64, 64, 0.1, rnd)))).isTrue();
        assertThat(PackedLayer.splitCostsNoSlots(CsrMatrix.of(org.sprnn.model.SyntheticModels.sparse(300, 300, 0.01, rnd)))).isTrue();
        assertThat(PackedLayer.splitCostsNoSlots(CsrMatrix.of(org.sprnn.model.SyntheticModels.sparse(300, 300, 0.1, rnd)))).isFalse();
        for (int k : new int[] {0, 1, 16, 17, 32, 33}) {
            double[] dense = new double[40 * 40]; // row 0 (unit 0) has k nonzeros, the others none
            java.util.Arrays.fill(dense, 0, k, 1.0);
            CsrMatrix w = CsrMatrix.of(new org.sprnn.model.Tensor(new int[] {40, 40}, dense));
            assertThat(w.rowNnz(0)).isEqualTo(k);
            assertThat(PackedLayer.splitCostsNoSlots(w)).as("a row of %d nonzeros", k).isEqualTo(k <= 16);
            assertThat(PackedLayer.unitSlots(w, CellType.RNN_RELU, true)[0]).as("a row of %d nonzeros: slots split", k)
                    .isEqualTo(BankAwareOrder.slotColumns(2 * k));
            assertThat(PackedLayer.unitSlots(w, CellType.RNN_RELU, true)[0] == PackedLayer.unitSlots(w, CellType.RNN_RELU)[0])
                    .as("a row of %d nonzeros: split costs no slot", k).isEqualTo(k <= 16);
        }
    }
}
