package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** The packed layer holds exactly W_hh (rounded to the weight format), dealt and padded as documented. */
class PackedLayerTest {
    /** A packed word as read back: its column and its fp16 value. */
    interface WordVisitor {
        void visit(int column, float value);
    }

    /** Visits every word of warp {@code wp}'s slots {@code from..to} (inclusive), slot by slot, lane by lane. */
    static void forEachWord(PackedLayer p, int wp, int from, int to, WordVisitor visit) {
        for (int j = from; j <= to; j++) {
            for (int lane = 0; lane < 32; lane++) {
                int word = p.words()[(wp * p.slotsPerLane() + j) * 32 + lane];
                visit.visit(PackedWord.column(word), PackedWord.value(word, Precision.FP16));
            }
        }
    }


    /** Rows with uneven lengths (some long, some empty), so balanced and naive dealing differ; values in [-1, 1). */
    static CsrMatrix unevenRows(SplittableRandom rnd, int rows, int cols, double d) {
        return unevenRows(rnd, rows, cols, d, 4, x -> x.nextDouble(-1, 1));
    }

    /**
     * Rows of density {@code d}, every 7th of {@code min(1, longFactor * d)}, every 11th (not 7th) empty; each value
     * drawn by {@code value} after the row's columns.
     */
    static CsrMatrix unevenRows(SplittableRandom rnd, int rows, int cols, double d, double longFactor,
                                java.util.function.ToDoubleFunction<SplittableRandom> value) {
        double[] dense = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            double dr = r % 7 == 0 ? Math.min(1.0, longFactor * d) : (r % 11 == 0 ? 0 : d);
            int[] c = java.util.stream.IntStream.range(0, cols).filter(x -> rnd.nextDouble() < dr).toArray();
            for (int x : c) {
                dense[r * cols + x] = (float) value.applyAsDouble(rnd);
            }
        }
        return CsrMatrix.of(new Tensor(new int[] {rows, cols}, dense));
    }

    /** {@code rows} rows over {@code cols} columns, row {@code r} with {@code length.applyAsInt(r)} nonzeros. */
    static CsrMatrix rowsOfLength(int rows, int cols, java.util.function.IntUnaryOperator length) {
        double[] dense = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < length.applyAsInt(r); i++) {
                dense[r * cols + (r * 7 + i * 3) % cols] = 0.25f * (1 + (r + i) % 3);
            }
        }
        CsrMatrix m = CsrMatrix.of(new Tensor(new int[] {rows, cols}, dense));
        for (int r = 0; r < rows; r++) {
            assertThat(m.rowNnz(r)).as("row %d: distinct columns", r).isEqualTo(length.applyAsInt(r));
        }
        return m;
    }

    @Test
    void equalRowSlotsOnlyWhereEveryWarpIsFullOfRowsOfTheSameSlots() {
        // 64 units of 20 nonzeros (one slot) on 32 warps: 2 units a warp, rows end at slots 0 and 1
        PackedLayer even = PackedLayer.pack(rowsOfLength(64, 64, r -> 20), CellType.RNN_RELU, 4, 32, true, true, true, Precision.FP16);
        assertThat(even.unitsPerWarp()).isEqualTo(2);
        assertThat(even.fullWarps()).isTrue();
        assertThat(even.equalRowSlots()).isEqualTo(1);
        // the same on 24 warps: 3 units a warp at most, some warps short of one
        PackedLayer shortWarp = PackedLayer.pack(rowsOfLength(64, 64, r -> 20), CellType.RNN_RELU, 4, 24, true, true, true, Precision.FP16);
        assertThat(shortWarp.unitsPerWarp()).isEqualTo(3);
        assertThat(shortWarp.equalRowSlots()).isZero();
        // one row of 40 nonzeros (two slots) among them
        PackedLayer uneven = PackedLayer.pack(rowsOfLength(64, 64, r -> r == 5 ? 40 : 20), CellType.RNN_RELU, 4, 32, true, true, true,
                Precision.FP16);
        assertThat(uneven.equalRowSlots()).isZero();
        // 64 units on 128 warps: warps without a unit
        PackedLayer empty = PackedLayer.pack(rowsOfLength(64, 64, r -> 20), CellType.RNN_RELU, 4, 128, true, true, true, Precision.FP16);
        assertThat(empty.equalRowSlots()).isZero();
        // GRU, 64 units (gate rows of 45 nonzeros: two slots each) on 64 warps: one unit a warp, ends at 1, 3, 5
        PackedLayer gru = PackedLayer.pack(rowsOfLength(3 * 64, 64, r -> 45), CellType.GRU, 4, 64, true, true, true, Precision.FP16);
        assertThat(gru.equalRowSlots()).isEqualTo(2);
        assertThat(Arrays.copyOf(gru.rowEnds(), 6)).containsExactly(1, 3, 5, 1, 3, 5);
        // split weights: 20 nonzeros are 40 words, two slots a row
        PackedLayer split = PackedLayer.pack(rowsOfLength(64, 64, r -> 20), CellType.RNN_RELU, 4, 1, 32, false, true, true, true,
                Precision.FP16, true);
        assertThat(split.equalRowSlots()).isEqualTo(2);
        assertThat(split.slotsPerLane()).isEqualTo(4);
    }

    @Test
    void everyRowDecodesToItsNonzerosAndPaddingIsZero() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (CellType cell : CellType.values()) {
            for (int trial = 0; trial < 6; trial++) {
                int h = 20 + rnd.nextInt(300);
                int batch = 1 + rnd.nextInt(16);
                int warps = 1 + rnd.nextInt(40);
                boolean balanced = rnd.nextBoolean();
                boolean bank = rnd.nextBoolean();
                boolean wide = rnd.nextBoolean();
                CsrMatrix w = unevenRows(rnd, cell.gates() * h, h, 0.1);
                PackedLayer p = PackedLayer.pack(w, cell, batch, warps, balanced, bank, wide, Precision.FP16);
                String what = String.format("seed %d %s H=%d B=%d warps=%d balanced=%s bank=%s wide=%s", seed, cell.id(), h, batch, warps, balanced, bank, wide);
                int g = cell.gates();
                boolean[] seenUnit = new boolean[h];
                for (int wp = 0; wp < warps; wp++) {
                    int start = 0;
                    for (int i = 0; i < p.unitsPerWarp(); i++) {
                        int u = p.warpUnits()[wp * p.unitsPerWarp() + i];
                        if (u < 0) {
                            assertThat(p.rowEnds()[(wp * p.unitsPerWarp() + i) * g]).as(what).isEqualTo(-1);
                            continue;
                        }
                        assertThat(seenUnit[u]).as(what + ": unit %d dealt twice", u).isFalse();
                        seenUnit[u] = true;
                        for (int gate = 0; gate < g; gate++) {
                            int end = p.rowEnds()[(wp * p.unitsPerWarp() + i) * g + gate];
                            Map<Integer, Float> got = new HashMap<>();
                            forEachWord(p, wp, start, end, (c, v) -> {
                                if (c >= h) {
                                    assertThat(v).as(what + ": padding value").isEqualTo(0f);
                                    assertThat(c).as(what).isLessThan(h + SharedMemoryBanks.ZERO_COLUMNS);
                                } else {
                                    assertThat(got.put(c, v)).as(what + ": column %d twice in row", c).isNull();
                                }
                            });
                            int r = gate * h + u;
                            int[] cols = w.rowColumns(r);
                            assertThat(got).as(what + " row %d", r).hasSize(cols.length);
                            for (int x = 0; x < cols.length; x++) {
                                assertThat(got.get(cols[x])).as(what + " row %d col %d", r, cols[x])
                                        .isEqualTo(Float.float16ToFloat(Float.floatToFloat16(w.rowValues(r)[x])));
                            }
                            start = end + 1;
                        }
                    }
                    for (int j = start; j < p.slotsPerLane(); j++) {
                        for (int lane = 0; lane < 32; lane++) {
                            int word = p.words()[(wp * p.slotsPerLane() + j) * 32 + lane];
                            assertThat(PackedWord.column(word)).as(what + ": tail padding").isGreaterThanOrEqualTo(h);
                            assertThat(PackedWord.value(word, Precision.FP16)).isEqualTo(0f);
                        }
                    }
                }
                boolean[] all = new boolean[h];
                Arrays.fill(all, true);
                assertThat(seenUnit).as(what + ": every unit dealt").isEqualTo(all);
                assertThat(p.stats().wavefronts()).as(what).isLessThanOrEqualTo(p.stats().wavefrontsNatural());
            }
        }
    }

    @Test
    void balancedDealingIsNoWorseThanNaiveAndNearlyEven() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        CsrMatrix w = unevenRows(rnd, 1152, 1152, 0.1);
        PackedLayer naive = PackedLayer.pack(w, CellType.RNN_RELU, 4, 256, false, true, true, Precision.FP16);
        PackedLayer bal = PackedLayer.pack(w, CellType.RNN_RELU, 4, 256, true, true, true, Precision.FP16);
        String what = "seed " + seed + ": naive " + naive.summary() + " / balanced " + bal.summary();
        assertThat(bal.slotsPerLane()).as(what).isLessThan(naive.slotsPerLane());
        assertThat(bal.slotsPerLane()).as(what).isLessThanOrEqualTo((int) Math.ceil(bal.stats().meanSlotsPerWarp()) + 4);
    }

    @Test
    void bankAwareOrderCutsWavefrontsAtThePaperPoint() {
        CsrMatrix w = CsrMatrix.of(SyntheticModels.sparse(1152, 1152, 0.1, new SplittableRandom(7)));
        PackedLayer nat = PackedLayer.pack(w, CellType.RNN_RELU, 4, 256, true, false, true, Precision.FP16);
        PackedLayer bank = PackedLayer.pack(w, CellType.RNN_RELU, 4, 256, true, true, true, Precision.FP16);
        double before = nat.stats().wavefronts() / (double) nat.stats().loads();
        double after = bank.stats().wavefronts() / (double) bank.stats().loads();
        System.out.println("H=1152 B=4 d=0.1 natural: " + nat.summary());
        System.out.println("H=1152 B=4 d=0.1 bank-aware: " + bank.summary());
        assertThat(after).as("natural %.3f -> bank-aware %.3f wavefronts per load", before, after).isLessThan(before * 0.75);
        assertThat(bank.stats().wavefronts()).isEqualTo(bank.stats().lowerBound());
    }

    @Test
    void neededColumnsAreExactlyTheColumnsEachCtasWordsRead() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        CsrMatrix w = CsrMatrix.of(SyntheticModels.sparse(200, 200, 0.05, new SplittableRandom(seed)));
        int ctas = 4, warpsPerCta = 3;
        PackedLayer l = PackedLayer.pack(w, CellType.RNN_RELU, 4, ctas, ctas * warpsPerCta, true, true, true, true, Precision.FP16);
        int[] needed = l.neededColumns(ctas, warpsPerCta);
        int perCta = warpsPerCta * l.slotsPerLane() * 32;
        for (int c = 0; c < ctas; c++) {
            java.util.TreeSet<Integer> expected = new java.util.TreeSet<>();
            for (int i = c * perCta; i < (c + 1) * perCta; i++) {
                int col = PackedWord.column(l.words()[i]);
                if (col < 200) {
                    expected.add(col);
                }
            }
            int n = needed[c * 201];
            int[] got = java.util.Arrays.copyOfRange(needed, c * 201 + 1, c * 201 + 1 + n);
            assertThat(got).as("CTA %d, seed %d", c, seed).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
        }
    }
}
