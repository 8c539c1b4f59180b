package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * A drawn recurrence that leaves even float32's range (the reference engine refuses it with {@code overflow:}) is
 * damped like one that leaves fp16's, instead of failing the check's row (kernel-check --full, session 19: five rows of
 * relu H 64 d 0.01 failed so, the kernel never ran).
 */
class Fp16RangeTest {
    /** relu, hidden 2, input 1: W_hh = g I, so h grows by about g a step. */
    private static RnnModel growing(double g) {
        Tensor wIh = new Tensor(new int[] {2, 1}, new double[] {1, 1});
        Tensor wHh = new Tensor(new int[] {2, 2}, new double[] {g, 0, 0, g});
        Tensor b = new Tensor(new int[] {2}, new double[] {0, 0});
        return new RnnModel(CellType.RNN_RELU, List.of(new Layer(wIh, wHh, b, b)));
    }

    @Test
    void aRecurrenceBeyondFloat32IsDampedIntoFp16sRange() {
        RnnModel m = growing(100);
        int steps = 30; // 100^30 = 1e60: past float32 (3.4e38) by step 20
        double[] ones = new double[steps];
        java.util.Arrays.fill(ones, 1);
        Tensor x = new Tensor(new int[] {steps, 1, 1}, ones);
        assertThat(Fp16Range.reference(m, x, null, null)).as("beyond float32: no reference").isNull();
        assertThat(Fp16Range.peakOrInfinite(null)).isInfinite();
        Fp16Range.Damped d = Fp16Range.damp(m, x, null, null, null);
        assertThat(d.want()).isNotNull();
        assertThat(Fp16Range.peak(d.want())).isLessThanOrEqualTo(Fp16Range.FP16_MAX);
        assertThat(d.factor()).isLessThanOrEqualTo(1.0 / 64); // g x f must be at most about 1.4 to stay below 6.5e4
    }

    @Test
    void aRecurrenceInRangeIsLeftAlone() {
        RnnModel m = growing(0.5);
        Tensor x = new Tensor(new int[] {5, 1, 1}, new double[] {1, 1, 1, 1, 1});
        RnnOutput want = Fp16Range.reference(m, x, null, null);
        assertThat(want).isNotNull();
        Fp16Range.Damped d = Fp16Range.damp(m, x, null, null, want);
        assertThat(d.factor()).isEqualTo(1.0);
        assertThat(d.want()).isSameAs(want);
    }
}
