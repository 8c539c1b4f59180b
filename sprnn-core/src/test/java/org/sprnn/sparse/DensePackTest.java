package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** The dense layout ({@link PackedLayer#packDense}) holds W_hh exactly: every column of every row once, rounded to 16 bits. */
class DensePackTest {

    @Test
    void unpackIsWhhRoundedForEveryCellShapeAndPartition() {
        int[][] shapes = {{1, 1, 1}, {64, 1, 4}, {65, 2, 3}, {97, 4, 4}, {300, 8, 16}, {129, 3, 9}};
        for (CellType cell : CellType.values()) {
            for (int[] sh : shapes) {
                int h = sh[0];
                for (Precision p : new Precision[] {Precision.FP16, Precision.BF16}) {
                    for (boolean contiguous : new boolean[] {false, true}) {
                        for (boolean balanced : new boolean[] {false, true}) {
                            Tensor w = SyntheticModels.sparse(cell.gates() * h, h, 0.7, new SplittableRandom(h * 7L + cell.ordinal()));
                            CsrMatrix csr = CsrMatrix.of(w);
                            PackedLayer l = PackedLayer.packDense(csr, cell, 4, sh[1], sh[1] * sh[2], contiguous, balanced, p);
                            String what = cell + " h" + h + " " + p + " ctas " + sh[1] + " warps " + sh[1] * sh[2];
                            assertThat(l.dense()).isTrue();
                            assertThat(l.slotsPerLane()).as(what).isEqualTo(l.unitsPerWarp() * cell.gates() * PackedLayer.denseRowSlots(h));
                            assertThat(l.fullWarps()).as(what).isTrue();
                            int rows = l.unitsPerWarp() * cell.gates();
                            assertThat(l.equalRowSlots()).as(what).isEqualTo(PackedLayer.denseRowSlots(h));
                            float[] got = l.unpackDense(p); // throws on a row held twice or missing, or nonzero padding
                            double[] want = w.data();
                            for (int i = 0; i < want.length; i++) {
                                float expected = p.decode(p.encode((float) want[i]));
                                if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(expected)) {
                                    throw new AssertionError(what + ": weight " + i + " unpacked " + got[i] + ", want " + expected);
                                }
                            }
                            // every CTA polls every column in the timestamped exchange
                            int[] needed = l.neededColumns(sh[1], sh[2]);
                            assertThat(needed[0]).isEqualTo(h);
                            assertThat(rows).isPositive();
                        }
                    }
                }
            }
        }
    }

    @Test
    void wordsAreDealtLaneMajorTwoAdjacentColumnsAWord() {
        // one relu unit of hidden 130 on one warp: 3 slots, word q of the row in lane q % 32 at slot q / 32
        Tensor w = SyntheticModels.sparse(130, 130, 1.0, new SplittableRandom(3));
        PackedLayer l = PackedLayer.packDense(CsrMatrix.of(w), CellType.RNN_RELU, 1, 1, 130, false, false, Precision.FP16);
        assertThat(l.unitsPerWarp()).isEqualTo(1);
        assertThat(l.slotsPerLane()).isEqualTo(3);
        int u = l.warpUnits()[5 * 1];
        for (int q = 0; q < 96; q++) {
            int word = l.words()[(5 * 3 + q / 32) * 32 + q % 32];
            float lo = 2 * q < 130 ? (float) w.data()[u * 130 + 2 * q] : 0f;
            float hi = 2 * q + 1 < 130 ? (float) w.data()[u * 130 + 2 * q + 1] : 0f;
            assertThat(word).isEqualTo(PackedWord.packPair(lo, hi, Precision.FP16));
            assertThat(PackedWord.pairLo(word, Precision.FP16)).isEqualTo(Precision.FP16.decode(Precision.FP16.encode(lo)));
            assertThat(PackedWord.pairHi(word, Precision.FP16)).isEqualTo(Precision.FP16.decode(Precision.FP16.encode(hi)));
        }
        // a word holds lo in bits 0-15, hi in 16-31
        assertThat(PackedWord.packPair(1f, -2f, Precision.FP16)).isEqualTo(0xC000_3C00);
        assertThat(PackedWord.packPair(1f, -2f, Precision.BF16)).isEqualTo(0xC000_3F80);
    }
}
