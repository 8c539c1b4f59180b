package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class CsrMatrixTest {

    @Test
    void buildsRowPointersColumnsAndValuesByHand() {
        Tensor w = new Tensor(new int[] {3, 4}, new double[] {0, 2, 0, -1, 0, 0, 0, 0, 5, 0, 0.5, 0});
        CsrMatrix m = CsrMatrix.of(w);
        assertThat(m.rowPtr()).containsExactly(0, 2, 2, 4);
        assertThat(m.colIdx()).containsExactly(1, 3, 0, 2);
        assertThat(m.values()).containsExactly(2f, -1f, 5f, 0.5f);
        assertThat(m.nnz()).isEqualTo(4);
        assertThat(m.density()).isEqualTo(4 / 12.0);
        assertThat(m.minRowNnz()).isZero();
        assertThat(m.medianRowNnz()).isEqualTo(2.0);
        assertThat(m.maxRowNnz()).isEqualTo(2);
        assertThat(m.rowColumns(0)).containsExactly(1, 3);
        assertThat(m.rowValues(0)).containsExactly(2f, -1f);
        assertThat(m.rowColumns(1)).isEmpty();
        assertThat(m.rowValues(1)).isEmpty();
        assertThat(m.rowColumns(2)).containsExactly(0, 2);
        assertThat(m.rowValues(2)).containsExactly(5f, 0.5f);
        m.rowColumns(0)[0] = 3;
        m.rowValues(0)[0] = 0f;
        assertThat(m.colIdxView()).as("a row's arrays are copies").containsExactly(1, 3, 0, 2);
        assertThat(m.valuesView()).containsExactly(2f, -1f, 5f, 0.5f);
    }

    @Test
    void roundTripsRandomSparseMatrices() {
        long seed = System.nanoTime();
        for (double d : new double[] {0.01, 0.3, 1.0}) {
            Tensor w = SyntheticModels.sparse(37, 53, d, new SplittableRandom(seed));
            CsrMatrix m = CsrMatrix.of(w);
            Tensor back = m.toDense();
            for (int i = 0; i < w.size(); i++) {
                assertThat(back.data()[i]).as("density %s seed %d index %d", d, seed, i).isEqualTo((double) (float) w.data()[i]);
            }
            assertThat((long) m.nnz()).isEqualTo(w.countNonZero());
            for (int r = 0; r < 37; r++) { // each row's slice: its nonzeros, columns ascending, values as rounded
                int[] cols = m.rowColumns(r);
                float[] vals = m.rowValues(r);
                assertThat(cols).hasSize(m.rowNnz(r)).isSorted().doesNotHaveDuplicates();
                assertThat(vals).hasSize(m.rowNnz(r));
                for (int i = 0; i < cols.length; i++) {
                    assertThat(vals[i]).isEqualTo((float) w.data()[r * 53 + cols[i]]).isNotZero();
                }
            }
            int k = Math.max(1, (int) Math.round(d * 53));
            assertThat(m.minRowNnz()).isEqualTo(k);
            assertThat(m.maxRowNnz()).isEqualTo(k);
        }
    }

    @Test
    void dropsValuesThatUnderflowFloat32AndRefusesNonMatrices() {
        CsrMatrix m = CsrMatrix.of(new Tensor(new int[] {1, 2}, new double[] {1e-60, 3}));
        assertThat(m.nnz()).isEqualTo(1);
        assertThat(m.colIdx()).containsExactly(1);
        assertThatThrownBy(() -> CsrMatrix.of(Tensor.zeros(2, 2, 2))).isInstanceOf(SprnnException.class).hasMessageContaining("rank 2");
    }
}
