package org.sprnn.prune;

// The two load-balancing modes against their rules and against brute force: balanced keeps in each group of G rows
// round(d*G*cols) weights, every row k or k+1 of them, with the largest sum of |w| any such choice has; bank-balanced
// keeps in every bank (column mod 32) of every row the same number of largest |w|. Both deterministic (ties to the
// lower index), idempotent, on both directions and every cell.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.prune.PruneSpec.Mode;

class BalancedPruningTest {
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());

    private static Tensor dense(int rows, int cols, long seed) {
        return SyntheticModels.sparse(rows, cols, 1.0, new SplittableRandom(seed));
    }

    /** A matrix of small integers (many ties, some zeros). */
    private static Tensor ties(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextInt(-3, 4);
        }
        return new Tensor(new int[] {rows, cols}, v);
    }

    private static double keptMagnitude(Tensor p, int from, int to, int stride) {
        double s = 0;
        for (int i = from; i < to; i += stride) {
            s += Math.abs(p.data()[i]);
        }
        return s;
    }

    /**
     * Checks {@code p} against the balanced rule for {@code w}: per group the budget, row counts k and k+1 with
     * budget mod n rows at k+1, kept values unchanged, each row's kept |w| at least its dropped |w|, and the extra
     * weights no smaller than any row's next candidate without one.
     */
    static void assertBalanced(Tensor w, Tensor p, double d, int group, String what) {
        int rows = w.dim(0), cols = w.dim(1);
        long total = 0;
        for (int g0 = 0; g0 < rows; g0 += group) {
            int n = Math.min(group, rows - g0);
            long budget = Math.min((long) n * cols, Math.max(n, Math.round(d * n * cols)));
            int k = (int) (budget / n);
            int withExtra = 0;
            double smallestExtra = Double.MAX_VALUE, largestMissed = 0;
            for (int r = g0; r < g0 + n; r++) {
                int nz = 0;
                double smallestKept = Double.MAX_VALUE, largestDropped = 0;
                for (int c = 0; c < cols; c++) {
                    int i = r * cols + c;
                    if (p.data()[i] != 0) {
                        assertThat(p.data()[i]).as(what).isEqualTo(w.data()[i]);
                        nz++;
                    }
                }
                double[] mags = Arrays.stream(Arrays.copyOfRange(w.data(), r * cols, r * cols + cols)).map(Math::abs).sorted().toArray();
                for (int c = 0; c < cols; c++) {
                    double a = Math.abs(w.data()[r * cols + c]);
                    if (p.data()[r * cols + c] != 0) {
                        smallestKept = Math.min(smallestKept, a);
                    } else if (a > 0) {
                        largestDropped = Math.max(largestDropped, a);
                    }
                }
                // count of nonzeros is k or k+1 where the row has that many nonzero weights
                long nonzeroInRow = Arrays.stream(mags).filter(a -> a > 0).count();
                assertThat(nz).as("%s: row %d of group at %d keeps k=%d or k+1", what, r, g0, k)
                        .isIn(Math.min(k, (int) nonzeroInRow), Math.min(k + 1, (int) nonzeroInRow));
                if (nz > 0 && largestDropped > 0) {
                    assertThat(smallestKept).as("%s: row %d keeps its largest", what, r).isGreaterThanOrEqualTo(largestDropped);
                }
                if (nz == k + 1) {
                    withExtra++;
                    smallestExtra = Math.min(smallestExtra, mags[cols - k - 1]);
                } else if (k < cols) {
                    largestMissed = Math.max(largestMissed, mags[cols - k - 1]);
                }
                total += nz;
            }
            if (w.countNonZero() == w.size()) { // without zeros the counts are exact
                assertThat(withExtra).as("%s: rows with k+1 in group at %d", what, g0).isEqualTo((int) (budget % n));
            }
            if (withExtra > 0) {
                assertThat(smallestExtra).as("%s: extra weights are the largest candidates, group at %d", what, g0)
                        .isGreaterThanOrEqualTo(largestMissed);
            }
        }
        if (w.countNonZero() == w.size()) {
            long groups = (rows + group - 1) / group;
            assertThat((double) total).as("%s: overall density within rounding", what)
                    .isCloseTo(d * rows * cols, org.assertj.core.data.Offset.offset(0.5 * groups + rows));
        }
    }

    /** Checks {@code p} against the bank-balanced rule: every bank of every row keeps min(k, its size) of its largest. */
    static void assertBankBalanced(Tensor w, Tensor p, double d, String what) {
        int rows = w.dim(0), cols = w.dim(1);
        int k = Math.max(1, (int) Math.round(d * cols / 32.0));
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < Math.min(32, cols); b++) {
                int nz = 0, size = 0;
                double smallestKept = Double.MAX_VALUE, largestDropped = 0;
                for (int c = b; c < cols; c += 32) {
                    int i = r * cols + c;
                    size++;
                    double a = Math.abs(w.data()[i]);
                    if (p.data()[i] != 0) {
                        assertThat(p.data()[i]).as(what).isEqualTo(w.data()[i]);
                        nz++;
                        smallestKept = Math.min(smallestKept, a);
                    } else {
                        largestDropped = Math.max(largestDropped, a);
                    }
                }
                if (w.countNonZero() == w.size()) {
                    assertThat(nz).as("%s: row %d bank %d keeps min(k=%d, %d)", what, r, b, k, size).isEqualTo(Math.min(k, size));
                }
                if (nz > 0) {
                    assertThat(smallestKept).as("%s: row %d bank %d keeps its largest", what, r, b).isGreaterThanOrEqualTo(largestDropped);
                }
            }
        }
    }

    @Test
    void balancedKeepsEqualCountsWithinEachGroupAndTheLargestItCan() {
        for (int group : new int[] {1, 5, 32, 70, 100}) {
            for (double d : new double[] {0.01, 0.1, 0.3, 0.77, 1.0}) {
                Tensor w = dense(70, 45, SEED + group);
                Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BALANCED, false, group));
                assertBalanced(w, p, d, group, "70x45 group " + group + " d " + d + " seed " + SEED);
            }
        }
    }

    @Test
    void balancedOverallDensityIsTheRequestedOneWithinRounding() {
        Tensor w = dense(256, 256, SEED);
        for (double d : new double[] {0.05, 0.1, 0.3}) {
            Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BALANCED, false));
            long expected = 8 * Math.round(d * 32 * 256); // 8 groups of 32 rows
            assertThat(p.countNonZero()).as("d %s seed %d", d, SEED).isEqualTo(expected);
            assertThat(Math.abs(p.countNonZero() - d * 256 * 256)).as("d %s", d).isLessThanOrEqualTo(8 * 0.5);
        }
    }

    /** The largest sum of kept |w| over every mask whose rows in each group hold k or k+1 with budget in all. */
    private static double bruteForceBalanced(Tensor w, double d, int group) {
        int rows = w.dim(0), cols = w.dim(1);
        double best = 0;
        for (int g0 = 0; g0 < rows; g0 += group) {
            int n = Math.min(group, rows - g0);
            long budget = Math.min((long) n * cols, Math.max(n, Math.round(d * n * cols)));
            int k = (int) (budget / n);
            int bits = n * cols;
            double bestGroup = -1;
            for (long mask = 0; mask < (1L << bits); mask++) {
                if (Long.bitCount(mask) != budget) {
                    continue;
                }
                boolean ok = true;
                double sum = 0;
                for (int i = 0; i < n && ok; i++) {
                    int cnt = Long.bitCount((mask >>> (i * cols)) & ((1L << cols) - 1));
                    ok = cnt == k || cnt == k + 1;
                }
                if (!ok) {
                    continue;
                }
                for (int j = 0; j < bits; j++) {
                    if ((mask >>> j & 1) != 0) {
                        sum += Math.abs(w.data()[g0 * cols + j]);
                    }
                }
                bestGroup = Math.max(bestGroup, sum);
            }
            best += bestGroup;
        }
        return best;
    }

    @Test
    void balancedMatchesABruteForceReferenceOnSmallMatrices() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int trial = 0; trial < 40; trial++) {
            int rows = rnd.nextInt(1, 7), cols = rnd.nextInt(1, 5), group = rnd.nextInt(1, 5);
            double d = rnd.nextDouble(0.01, 1.0);
            long s = rnd.nextLong();
            Tensor w = trial % 2 == 0 ? dense(rows, cols, s) : ties(rows, cols, s);
            Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BALANCED, false, group));
            String what = rows + "x" + cols + " group " + group + " d " + d + " trial " + trial + " seed " + SEED;
            assertThat(keptMagnitude(p, 0, p.size(), 1)).as(what)
                    .isCloseTo(bruteForceBalanced(w, d, group), org.assertj.core.data.Offset.offset(1e-9));
            assertBalanced(w, p, d, group, what);
        }
    }

    @Test
    void bankBalancedKeepsTheSameCountInEveryBank() {
        for (int cols : new int[] {7, 32, 100, 256}) {
            for (double d : new double[] {0.01, 0.1, 0.3, 0.5, 1.0}) {
                Tensor w = dense(12, cols, SEED + cols);
                Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BANK_BALANCED, false));
                assertBankBalanced(w, p, d, "12x" + cols + " d " + d + " seed " + SEED);
            }
        }
    }

    @Test
    void bankBalancedOverallDensityIsTheRequestedOneWithinRounding() {
        Tensor w = dense(64, 512, SEED);
        for (double d : new double[] {0.1, 0.3}) {
            Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BANK_BALANCED, false));
            long k = Math.round(d * 16); // 16 columns a bank
            assertThat(p.countNonZero()).as("d %s", d).isEqualTo(64 * 32 * k);
            assertThat(p.countNonZero() / (64.0 * 512)).as("d %s", d).isCloseTo(d, org.assertj.core.data.Offset.offset(0.5 / 16));
        }
    }

    @Test
    void bankBalancedMatchesABruteForceReferencePerBank() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int trial = 0; trial < 20; trial++) {
            int rows = rnd.nextInt(1, 4), cols = rnd.nextInt(33, 160);
            double d = rnd.nextDouble(0.01, 1.0);
            Tensor w = trial % 2 == 0 ? dense(rows, cols, rnd.nextLong()) : ties(rows, cols, rnd.nextLong());
            Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.BANK_BALANCED, false));
            int k = Math.max(1, (int) Math.round(d * cols / 32.0));
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < 32; b++) {
                    int size = (cols - b + 31) / 32;
                    double best = 0;
                    for (int mask = 0; mask < (1 << size); mask++) { // every subset of the bank of size min(k, size)
                        if (Integer.bitCount(mask) != Math.min(k, size)) {
                            continue;
                        }
                        double sum = 0;
                        for (int j = 0; j < size; j++) {
                            sum += (mask >>> j & 1) != 0 ? Math.abs(w.data()[r * cols + b + 32 * j]) : 0;
                        }
                        best = Math.max(best, sum);
                    }
                    assertThat(keptMagnitude(p, r * cols + b, r * cols + cols, 32))
                            .as("%dx%d d %s row %d bank %d trial %d seed %d", rows, cols, d, r, b, trial, SEED)
                            .isCloseTo(best, org.assertj.core.data.Offset.offset(1e-9));
                }
            }
        }
    }

    @Test
    void tiesGoToTheLowerIndex() {
        // balanced, 2 rows of four 1s, d 3/8: budget 3, k 1, one extra; both rows tie, row 0 gets it; cols 0 (and 1) kept
        Tensor ones = new Tensor(new int[] {2, 4}, new double[] {1, 1, 1, 1, 1, 1, 1, 1});
        assertThat(Pruner.prune(ones, new PruneSpec(3 / 8.0, Mode.BALANCED, false, 2)).data())
                .containsExactly(1, 1, 0, 0, 1, 0, 0, 0);
        // the extra goes to the row whose next weight is larger even when it is later: row 1's 2nd largest 3 > row 0's 1
        Tensor w = new Tensor(new int[] {2, 3}, new double[] {5, 1, 0.5, 4, 3, 0.5});
        assertThat(Pruner.prune(w, new PruneSpec(0.5, Mode.BALANCED, false, 2)).data())
                .containsExactly(5, 0, 0, 4, 3, 0);
        // bank-balanced, 1 x 64 of ones, d 0.5: one of two in every bank, the lower column
        double[] v = new double[64];
        Arrays.fill(v, 1);
        double[] expected = new double[64];
        Arrays.fill(expected, 0, 32, 1);
        assertThat(Pruner.prune(new Tensor(new int[] {1, 64}, v), new PruneSpec(0.5, Mode.BANK_BALANCED, false)).data())
                .containsExactly(expected);
    }

    @Test
    void deterministicAndIdempotentEvenWithTiesAndZeros() {
        for (Mode mode : new Mode[] {Mode.BALANCED, Mode.BANK_BALANCED}) {
            for (int variant = 0; variant < 3; variant++) {
                Tensor w = switch (variant) {
                    case 0 -> dense(90, 100, SEED);
                    case 1 -> ties(90, 100, SEED);
                    default -> SyntheticModels.sparse(90, 100, 0.4, new SplittableRandom(SEED));
                };
                PruneSpec spec = new PruneSpec(0.2, mode, false, 16);
                Tensor once = Pruner.prune(w, spec);
                String what = mode + " variant " + variant + " seed " + SEED;
                assertThat(Pruner.prune(w, spec)).as(what).isEqualTo(once);
                assertThat(Pruner.prune(once, spec)).as(what).isEqualTo(once);
            }
        }
    }

    @Test
    void everyCellBothDirectionsAndInputWeightsOnRequest() {
        for (CellType cell : CellType.values()) {
            RnnModel bi = SyntheticModels.randomBidirectional(cell, 70, 40, 2, 1.0, 1.0, SEED);
            for (boolean withInput : new boolean[] {false, true}) {
                RnnModel bal = Pruner.prune(bi, new PruneSpec(0.1, Mode.BALANCED, withInput, 8));
                RnnModel bank = Pruner.prune(bi, new PruneSpec(0.1, Mode.BANK_BALANCED, withInput));
                for (int k = 0; k < 2; k++) {
                    for (int dir = 0; dir < 2; dir++) {
                        Layer orig = bi.layer(k, dir);
                        String what = cell + " layer " + k + " dir " + dir + " input " + withInput + " seed " + SEED;
                        assertBalanced(orig.wHh(), bal.layer(k, dir).wHh(), 0.1, 8, "balanced W_hh " + what);
                        assertBankBalanced(orig.wHh(), bank.layer(k, dir).wHh(), 0.1, "bank W_hh " + what);
                        if (withInput) {
                            assertBalanced(orig.wIh(), bal.layer(k, dir).wIh(), 0.1, 8, "balanced W_ih " + what);
                            assertBankBalanced(orig.wIh(), bank.layer(k, dir).wIh(), 0.1, "bank W_ih " + what);
                        } else {
                            assertThat(bal.layer(k, dir).wIh()).as(what).isEqualTo(orig.wIh());
                            assertThat(bank.layer(k, dir).wIh()).as(what).isEqualTo(orig.wIh());
                        }
                        assertThat(bal.layer(k, dir).bHh()).as(what).isEqualTo(orig.bHh());
                    }
                }
                assertThat(bal.bidirectional()).isTrue();
            }
        }
    }

    @Test
    void specValidatesTheGroupAndParsesTheNewModes() {
        assertThatThrownBy(() -> new PruneSpec(0.1, Mode.BALANCED, false, 0)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("--group").hasMessageContaining("got 0");
        assertThat(new PruneSpec(0.1, Mode.BALANCED, false).group()).isEqualTo(32);
        assertThat(Mode.parse("balanced")).isEqualTo(Mode.BALANCED);
        assertThat(Mode.parse("BANK_BALANCED")).isEqualTo(Mode.BANK_BALANCED);
        assertThatThrownBy(() -> Mode.parse("bbs")).isInstanceOf(SprnnException.class).hasMessageContaining("bank-balanced");
    }
}
