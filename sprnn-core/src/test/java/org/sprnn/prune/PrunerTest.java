package org.sprnn.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.prune.PruneSpec.Mode;

/** Magnitude pruning: exact counts, the largest kept, equal rows, ties, idempotence, W_ih only on request. */
class PrunerTest {
    private static final long SEED = Long.getLong("sprnn.seed", System.nanoTime());

    private static Tensor dense(int rows, int cols, long seed) {
        return SyntheticModels.sparse(rows, cols, 1.0, new SplittableRandom(seed));
    }

    @Test
    void perMatrixKeepsExactlyTheLargestMagnitudes() {
        for (double d : new double[] {0.01, 0.1, 0.37, 1.0}) {
            Tensor w = dense(45, 31, SEED);
            Tensor p = Pruner.prune(w, new PruneSpec(d, Mode.PER_MATRIX, false));
            long keep = Math.max(1, Math.round(d * 45 * 31));
            String what = "per-matrix density " + d + " seed " + SEED;
            assertThat(p.countNonZero()).as(what).isEqualTo(keep);
            double smallestKept = Double.MAX_VALUE, largestDropped = 0;
            for (int i = 0; i < w.size(); i++) {
                if (p.data()[i] != 0) {
                    assertThat(p.data()[i]).as(what).isEqualTo(w.data()[i]); // kept values are unchanged
                    smallestKept = Math.min(smallestKept, Math.abs(w.data()[i]));
                } else {
                    largestDropped = Math.max(largestDropped, Math.abs(w.data()[i]));
                }
            }
            assertThat(smallestKept).as(what).isGreaterThanOrEqualTo(largestDropped);
        }
    }

    @Test
    void perRowKeepsTheSameCountInEveryRowAndTheLargestOfEach() {
        Tensor w = dense(20, 50, SEED);
        Tensor p = Pruner.prune(w, new PruneSpec(0.1, Mode.PER_ROW, false));
        for (int r = 0; r < 20; r++) {
            double[] row = Arrays.copyOfRange(w.data(), r * 50, r * 50 + 50);
            double[] kept = Arrays.copyOfRange(p.data(), r * 50, r * 50 + 50);
            assertThat(Arrays.stream(kept).filter(v -> v != 0).count()).as("row %d, seed %d", r, SEED).isEqualTo(5);
            double[] mags = Arrays.stream(row).map(Math::abs).sorted().toArray();
            double fifthLargest = mags[45];
            for (int c = 0; c < 50; c++) {
                assertThat(kept[c] != 0).as("row %d col %d |w|=%s, 5th largest %s, seed %d", r, c, Math.abs(row[c]), fifthLargest, SEED)
                        .isEqualTo(Math.abs(row[c]) >= fifthLargest);
            }
        }
    }

    @Test
    void perRowKeepsAtLeastOne() {
        Tensor p = Pruner.prune(dense(7, 9, SEED), new PruneSpec(0.01, Mode.PER_ROW, false));
        for (int r = 0; r < 7; r++) {
            int n = 0;
            for (int c = 0; c < 9; c++) {
                n += p.get(r, c) != 0 ? 1 : 0;
            }
            assertThat(n).as("row %d", r).isEqualTo(1);
        }
    }

    @Test
    void tiesGoToTheLowerIndex() {
        Tensor w = new Tensor(new int[] {2, 4}, new double[] {1, -2, 2, 2, 0.5, 2, -2, 3});
        // per-matrix, keep 3: the 3 is kept, then two of the five |2|s, lowest index first: positions 1 and 2
        assertThat(Pruner.prune(w, new PruneSpec(3 / 8.0, Mode.PER_MATRIX, false)).data())
                .containsExactly(0, -2, 2, 0, 0, 0, 0, 3);
        // per-row, keep 2 of 4: row 0 keeps -2, 2 (indices 1, 2); row 1 keeps 3 and the first |2| (index 1)
        assertThat(Pruner.prune(w, new PruneSpec(0.5, Mode.PER_ROW, false)).data())
                .containsExactly(0, -2, 2, 0, 0, 2, 0, 3);
    }

    @Test
    void pruningTwiceChangesNothing() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 30, 24, 2, 1.0, 1.0, SEED);
        for (Mode mode : Mode.values()) {
            PruneSpec spec = new PruneSpec(0.2, mode, true);
            RnnModel once = Pruner.prune(m, spec);
            RnnModel twice = Pruner.prune(once, spec);
            assertThat(twice).as("%s seed %d", mode, SEED).isEqualTo(once);
        }
    }

    @Test
    void inputWeightsAndBiasesUntouchedUnlessAsked() {
        RnnModel m = SyntheticModels.random(CellType.GRU, 30, 24, 2, 1.0, 1.0, SEED);
        RnnModel hhOnly = Pruner.prune(m, new PruneSpec(0.1, Mode.PER_MATRIX, false));
        RnnModel both = Pruner.prune(m, new PruneSpec(0.1, Mode.PER_MATRIX, true));
        for (int k = 0; k < 2; k++) {
            Layer orig = m.layers().get(k);
            assertThat(hhOnly.layers().get(k).wIh()).isEqualTo(orig.wIh());
            assertThat(hhOnly.layers().get(k).wHh().countNonZero()).isEqualTo(Math.round(0.1 * 72 * 24));
            assertThat(both.layers().get(k).wIh().countNonZero()).isEqualTo(Math.round(0.1 * orig.wIh().size()));
            assertThat(both.layers().get(k).bIh()).isEqualTo(orig.bIh());
            assertThat(both.layers().get(k).bHh()).isEqualTo(orig.bHh());
        }
        assertThat(m.layers().get(0).wHh().countNonZero()).as("the input model is not modified").isEqualTo(72 * 24);
    }

    @Test
    void densityOutsideRangeIsRefusedNamingTheOption() {
        assertThatThrownBy(() -> new PruneSpec(0, Mode.PER_ROW, false)).isInstanceOf(SprnnException.class).hasMessageContaining("--density");
        assertThatThrownBy(() -> new PruneSpec(1.5, Mode.PER_ROW, false)).isInstanceOf(SprnnException.class).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> Mode.parse("rows")).isInstanceOf(SprnnException.class).hasMessageContaining("--mode");
        assertThat(Mode.parse("PER_ROW")).isEqualTo(Mode.PER_ROW);
    }

    @Test
    void statsCountRowsAndBytes() {
        // rows with 1, 3 and 2 nonzeros
        Tensor hh = new Tensor(new int[] {3, 3}, new double[] {0, 0, 1, 1, 2, 3, 0, 4, 5});
        Tensor ih = new Tensor(new int[] {3, 2}, new double[] {1, 1, 1, 1, 1, 1});
        RnnModel m = new RnnModel(CellType.RNN_RELU, List.of(new Layer(ih, hh, Tensor.zeros(3), Tensor.zeros(3))));
        ModelStats s = ModelStats.of(m);
        ModelStats.MatrixStats whh = s.matrices().get(1);
        assertThat(whh.name()).isEqualTo("weight_hh_l0");
        assertThat(whh.nonzeros()).isEqualTo(6);
        assertThat(whh.density()).isEqualTo(6 / 9.0);
        assertThat(whh.minRowNnz()).isEqualTo(1);
        assertThat(whh.medianRowNnz()).isEqualTo(2.0);
        assertThat(whh.maxRowNnz()).isEqualTo(3);
        assertThat(whh.onChipBytes()).isEqualTo(24);
        assertThat(s.totalOnChipBytes()).isEqualTo(48);
        assertThat(s.toTable()).contains("weight_hh_l0").contains("[3, 3]").contains("66.67%").contains("48 bytes packed").contains("on chip in the persistent kernel: W_hh, 24 bytes");
    }

    @Test
    void statsOfPerRowPrunedSyntheticLayerShowEqualRows() {
        RnnModel m = Pruner.prune(SyntheticModels.random(CellType.LSTM, 16, 40, 1, 1.0, 1.0, SEED), new PruneSpec(0.25, Mode.PER_ROW, false));
        ModelStats.MatrixStats whh = ModelStats.of(m).matrices().get(1);
        assertThat(whh.minRowNnz()).isEqualTo(10);
        assertThat(whh.maxRowNnz()).isEqualTo(10);
        assertThat(whh.medianRowNnz()).isEqualTo(10.0);
        assertThat(whh.rows()).isEqualTo(160);
    }

    @Test
    void bothDirectionsOfABidirectionalModelArePruned() {
        org.sprnn.model.RnnModel bi = org.sprnn.model.SyntheticModels.randomBidirectional(org.sprnn.model.CellType.GRU, 6, 10, 2,
                1.0, 1.0, SEED);
        org.sprnn.model.RnnModel p = Pruner.prune(bi, new PruneSpec(0.2, Mode.PER_MATRIX, true));
        assertThat(p.bidirectional()).isTrue();
        for (int k = 0; k < 2; k++) {
            for (int d = 0; d < 2; d++) {
                String what = "layer " + k + (d == 0 ? " forward" : " reverse") + ", seed " + SEED;
                assertThat(p.layer(k, d).wHh().countNonZero()).as(what).isEqualTo(Math.round(0.2 * 30 * 10));
                assertThat(p.layer(k, d).wIh().countNonZero()).as(what).isEqualTo(Math.round(0.2 * 30 * (k == 0 ? 6 : 20)));
                assertThat(p.layer(k, d).bIh()).as(what).isEqualTo(bi.layer(k, d).bIh());
            }
        }
    }
}
