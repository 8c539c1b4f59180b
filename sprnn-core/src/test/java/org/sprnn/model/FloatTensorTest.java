package org.sprnn.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/** FloatTensor: shape validation, the chunked non-finite scan, and the exact float64 round trip. */
class FloatTensorTest {

    @Test
    void rejectsShapeThatDoesNotMatchData() {
        assertThatThrownBy(() -> new FloatTensor(new int[] {2, 3}, new float[5]))
                .isInstanceOf(SprnnException.class).hasMessageContaining("holds 6 values, data has 5");
        assertThatThrownBy(() -> new FloatTensor(new int[] {-1, 3}, new float[0]))
                .isInstanceOf(SprnnException.class).hasMessageContaining("negative extent");
    }

    @Test
    void findsTheFirstNonFiniteValueInAnyChunk() {
        // chunks of 4,096: a value in the first, in a middle and in the partial last chunk
        for (int at : new int[] {0, 4095, 4096, 9000, 10000 - 1}) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] d = new float[10000];
                for (int i = 0; i < d.length; i++) {
                    d[i] = (i % 7 - 3) * 1e30f; // large but finite values of both signs
                }
                d[at] = bad;
                if (at + 5 < d.length) {
                    d[at + 5] = Float.NaN; // a later one is not reported
                }
                assertThat(new FloatTensor(new int[] {10000}, d).firstNonFinite()).as("%s at %d", bad, at).isEqualTo(at);
            }
        }
        float[] finite = {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -0f, 0f};
        assertThat(new FloatTensor(new int[] {5}, finite).firstNonFinite()).isEqualTo(-1);
    }

    @Test
    void convertsToAndFromTensor() {
        Tensor t = new Tensor(new int[] {2, 2}, new double[] {0.1, -2.5, 1e-3, 7});
        FloatTensor f = FloatTensor.of(t);
        assertThat(f.shape()).containsExactly(2, 2);
        assertThat(f.data()).containsExactly(0.1f, -2.5f, 1e-3f, 7f);
        assertThat(f.toTensor().data()).containsExactly(0.1f, -2.5, (double) 1e-3f, 7.0);
        assertThat(FloatTensor.zeros(3, 1).hasShape(3, 1)).isTrue();
    }
}
