package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * {@link PackedLayer#spread}: balanced warps placed so that every warp scheduler of every SM issues about the same slots,
 * warps kept whole, every unit once.
 */
class SchedulerSpreadTest {
    /** Slots of rows as magnitude pruning of a Gaussian matrix leaves them: binomial(h, d) nonzeros, ceil(n / 32) slots. */
    private static int[] binomialRowSlots(int h, double d, SplittableRandom rnd) {
        int[] slots = new int[h];
        for (int r = 0; r < h; r++) {
            int n = 0;
            for (int c = 0; c < h; c++) {
                if (rnd.nextDouble() < d) {
                    n++;
                }
            }
            slots[r] = Math.max(1, (n + 31) / 32);
        }
        return slots;
    }

    /** Per scheduler (CTA c, positions j % 4 == s) the slots its warps hold. */
    private static long[] schedulerLoads(List<List<Integer>> dealt, int[] unitSlots, int ctas) {
        int perCta = dealt.size() / ctas;
        long[] load = new long[ctas * PackedLayer.SCHEDULERS];
        for (int w = 0; w < dealt.size(); w++) {
            for (int u : dealt.get(w)) {
                load[(w / perCta) * PackedLayer.SCHEDULERS + (w % perCta) % PackedLayer.SCHEDULERS] += unitSlots[u];
            }
        }
        return load;
    }

    private static long max(long[] x) {
        long m = 0;
        for (long v : x) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** The dealing before the spread: LPT in warp index order (what {@code deal} returned before). */
    private static List<List<Integer>> inIndexOrder(int[] unitSlots, int warps) {
        Integer[] order = new Integer[unitSlots.length];
        for (int u = 0; u < order.length; u++) {
            order[u] = u;
        }
        java.util.Arrays.sort(order, (a, b) -> unitSlots[b] != unitSlots[a] ? unitSlots[b] - unitSlots[a] : a - b);
        List<List<Integer>> out = new ArrayList<>();
        for (int w = 0; w < warps; w++) {
            out.add(new ArrayList<>());
        }
        for (int i = 0; i < order.length; i++) {
            out.get(i % warps).add(order[i]); // one unit a warp where units <= warps: the LPT's own result
        }
        return out;
    }

    @Test
    void oneRowAWarpPrunedPerMatrixIssuesNoMoreOnAnySchedulerThanRowsPrunedPerRow() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        int h = 2304, ctas = 132, perCta = 18;
        int[] matrix = binomialRowSlots(h, 0.3, new SplittableRandom(seed));
        int[] row = new int[h];
        java.util.Arrays.fill(row, (int) Math.ceil(0.3 * h / 32)); // 691 nonzeros a row: 22 slots
        List<List<Integer>> before = inIndexOrder(matrix, ctas * perCta);
        List<List<Integer>> after = PackedLayer.spread(before, matrix, ctas);
        long equalRows = max(schedulerLoads(PackedLayer.spread(inIndexOrder(row, ctas * perCta), row, ctas), row, ctas));
        long was = max(schedulerLoads(before, matrix, ctas));
        long is = max(schedulerLoads(after, matrix, ctas));
        assertThat(equalRows).isEqualTo(5 * 22);
        assertThat(was).as("seed %d", seed).isGreaterThan(equalRows);
        assertThat(is).as("seed %d: busiest scheduler %d slots, was %d; per row %d", seed, is, was, equalRows)
                .isLessThanOrEqualTo(equalRows);
    }

    @Test
    void warpsStayWholeEveryUnitOnceAndCtasHoldRowsEvenly() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int trial = 0; trial < 50; trial++) {
            int ctas = 1 + rnd.nextInt(20);
            int perCta = 1 + rnd.nextInt(20);
            int warps = ctas * perCta;
            int h = 1 + rnd.nextInt(3 * warps);
            int[] slots = new int[h];
            boolean equal = rnd.nextBoolean();
            for (int u = 0; u < h; u++) {
                slots[u] = equal ? 7 : 1 + rnd.nextInt(30);
            }
            List<List<Integer>> before = inIndexOrder(slots, warps);
            List<List<Integer>> after = PackedLayer.spread(before, slots, ctas);
            String what = String.format("seed %d trial %d: %d units, %d CTAs x %d warps", seed, trial, h, ctas, perCta);
            assertThat(after).as(what).hasSize(warps).doesNotContainNull().containsExactlyInAnyOrderElementsOf(before);
            if (equal && h <= warps) { // one row a warp, all alike: CTAs differ by at most one row
                int lo = Integer.MAX_VALUE, hi = 0;
                for (int c = 0; c < ctas; c++) {
                    int n = 0;
                    for (int j = 0; j < perCta; j++) {
                        n += after.get(c * perCta + j).size();
                    }
                    lo = Math.min(lo, n);
                    hi = Math.max(hi, n);
                }
                assertThat(hi - lo).as(what).isLessThanOrEqualTo(1);
            }
        }
    }

    @Test
    void packedLayerStillHoldsEveryRowWhereverItsWarpsArePlaced() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        Tensor w = SyntheticModels.sparse(300, 300, 0.1, new SplittableRandom(seed));
        CsrMatrix m = CsrMatrix.of(w);
        for (WarpPlacement placement : WarpPlacement.values()) {
            PackedLayer p = PackedLayer.pack(m, CellType.RNN_RELU, 4, 20, 20 * 18, false, true, true, true, Precision.FP16, false,
                    placement);
            int[] seen = new int[300];
            int rowsInCta0 = 0;
            for (int wp = 0; wp < p.warps(); wp++) {
                int u = p.warpUnits()[wp * p.unitsPerWarp()];
                if (u >= 0) {
                    seen[u]++;
                    if (wp < 18) {
                        rowsInCta0++;
                    }
                    long nnz = 0;
                    for (int j = 0; j < p.slotsPerLane(); j++) {
                        for (int lane = 0; lane < 32; lane++) {
                            int word = p.words()[(wp * p.slotsPerLane() + j) * 32 + lane];
                            if (PackedWord.column(word) < 300) {
                                nnz++;
                            }
                        }
                    }
                    assertThat(nnz).as("%s seed %d warp %d unit %d", placement, seed, wp, u).isEqualTo(m.rowNnz(u));
                }
            }
            assertThat(seen).as("%s", placement).containsOnly(1);
            // 300 rows: spread over the 20 CTAs, 18 a CTA from the first, or (cta) a range of at most 18 that evens the schedulers
            if (placement == WarpPlacement.CTA) {
                assertThat(rowsInCta0).as("%s", placement).isBetween(15, 18);
            } else {
                assertThat(rowsInCta0).as("%s", placement).isEqualTo(placement == WarpPlacement.SPREAD ? 15 : 18);
            }
        }
    }

    @Test
    void ctaPlacementKeepsEachCtasUnitsContiguousAndEvensItsSchedulers() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        int h = 2304, ctas = 132, perCta = 18;
        int[] matrix = binomialRowSlots(h, 0.3, new SplittableRandom(seed));
        List<List<Integer>> cta = PackedLayer.contiguousCtas(matrix, ctas, ctas * perCta);
        List<List<Integer>> dealt = inIndexOrder(matrix, ctas * perCta);
        int next = 0; // each CTA a contiguous range of at most perCta units, the ranges in order, covering h
        for (int c = 0; c < ctas; c++) {
            java.util.TreeSet<Integer> units = new java.util.TreeSet<>();
            for (int j = 0; j < perCta; j++) {
                units.addAll(cta.get(c * perCta + j));
            }
            assertThat(units.size()).as("seed %d CTA %d", seed, c).isLessThanOrEqualTo(perCta);
            if (!units.isEmpty()) {
                assertThat(units.first()).as("seed %d CTA %d", seed, c).isEqualTo(next);
                assertThat(units.last() - units.first() + 1).as("seed %d CTA %d contiguous", seed, c).isEqualTo(units.size());
                next = units.last() + 1;
            }
        }
        assertThat(next).as("seed %d", seed).isEqualTo(h);
        // no worse than the dealt layout's fixed ranges of perCta units, placed the same way within each CTA
        List<List<Integer>> fixed = new java.util.ArrayList<>();
        for (int c = 0; c < ctas; c++) {
            List<List<Integer>> mine = new java.util.ArrayList<>();
            for (int j = 0; j < perCta; j++) {
                int u = c * perCta + j;
                mine.add(u < h ? List.of(u) : List.of());
            }
            fixed.addAll(PackedLayer.spread(mine, matrix, 1));
        }
        assertThat(max(schedulerLoads(cta, matrix, ctas))).as("seed %d", seed).isLessThanOrEqualTo(max(schedulerLoads(fixed, matrix, ctas)));
        long was = max(schedulerLoads(dealt, matrix, ctas));
        long is = max(schedulerLoads(cta, matrix, ctas));
        System.out.printf("2304 / 30%% per matrix, seed %d: busiest scheduler dealt %d, cta %d, spread %d slots%n", seed, was, is,
                max(schedulerLoads(PackedLayer.spread(dealt, matrix, ctas), matrix, ctas)));
        assertThat(is).as("seed %d", seed).isLessThan(was);
    }

    @Test
    void ctaPlacementOfRowsOfEqualLengthIsTheDealtLayoutWhereNoRangesEvenTheSchedulersBetter() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        SplittableRandom rnd = new SplittableRandom(seed);
        // every row k nonzeros, as per-row pruning leaves them; 300 rows over 17 CTAs of 18 warps: 5 rows on the busiest
        // scheduler either way (16 rows a CTA, 4 a scheduler, would need 19 CTAs)
        int h = 300, k = 30, ctas = 17;
        double[] w = new double[h * h];
        for (int r = 0; r < h; r++) {
            int placed = 0;
            while (placed < k) {
                int c = rnd.nextInt(h);
                if (w[r * h + c] == 0) {
                    w[r * h + c] = rnd.nextDouble(0.1, 1);
                    placed++;
                }
            }
        }
        CsrMatrix m = CsrMatrix.of(new Tensor(new int[] {h, h}, w));
        PackedLayer dealt = PackedLayer.pack(m, CellType.RNN_RELU, 4, ctas, ctas * 18, false, true, true, true, Precision.FP16, false,
                WarpPlacement.DEALT);
        PackedLayer cta = PackedLayer.pack(m, CellType.RNN_RELU, 4, ctas, ctas * 18, false, true, true, true, Precision.FP16, false,
                WarpPlacement.CTA);
        assertThat(cta.warpUnits()).as("seed %d", seed).containsExactly(dealt.warpUnits());
        assertThat(cta.words()).as("seed %d", seed).containsExactly(dealt.words());
        assertThat(cta.rowEnds()).as("seed %d", seed).containsExactly(dealt.rowEnds());
    }

    @Test
    void ctaPlacementOfRowsOfEqualLengthUsesMoreCtasWhereThatUnloadsTheBusiestScheduler() {
        int h = 300, ctas = 20, perCta = 18; // 16 rows a CTA (4 a scheduler) over 19 CTAs beats 18 a CTA (5 on one)
        int[] equal = new int[h];
        Arrays.fill(equal, 1);
        List<List<Integer>> cta = PackedLayer.contiguousCtas(equal, ctas, ctas * perCta);
        assertThat(max(schedulerLoads(cta, equal, ctas))).isEqualTo(4);
        assertThat(max(schedulerLoads(inIndexOrder(equal, ctas * perCta), equal, ctas))).isEqualTo(5);
    }

    @Test
    void ctaPlacementOfAFullGridKeepsTheFixedRanges() {
        long seed = Long.getLong("sprnn.seed", System.nanoTime());
        int ctas = 12, perCta = 6; // every warp holds a row: no other cover of h exists
        int[] slots = binomialRowSlots(ctas * perCta, 0.3, new SplittableRandom(seed));
        List<List<Integer>> cta = PackedLayer.contiguousCtas(slots, ctas, ctas * perCta);
        for (int c = 0; c < ctas; c++) {
            java.util.TreeSet<Integer> units = new java.util.TreeSet<>();
            for (int j = 0; j < perCta; j++) {
                units.addAll(cta.get(c * perCta + j));
            }
            assertThat(units).as("seed %d CTA %d", seed, c).hasSize(perCta).first().isEqualTo(c * perCta);
        }
    }
}
