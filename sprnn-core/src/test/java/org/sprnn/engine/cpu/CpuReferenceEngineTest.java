package org.sprnn.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** Hand-computed cases for the oracle itself (PyTorch agreement is checked by the golden tests). */
class CpuReferenceEngineTest {

    private static Tensor t(int[] shape, double... v) {
        return new Tensor(shape, v);
    }

    @Test
    void reluRnnOneUnitByHand() {
        // h1 = relu(2*x + 0.5 + 3*h0 - 1) with x=1, h0=0.25: 2 + 0.5 + 0.75 - 1 = 2.25; h2 = relu(2*(-3)+0.5+3*2.25-1) = 0.25
        RnnModel m = new RnnModel(CellType.RNN_RELU, List.of(new Layer(t(new int[] {1, 1}, 2), t(new int[] {1, 1}, 3),
                t(new int[] {1}, 0.5), t(new int[] {1}, -1))));
        RnnOutput out = new CpuReferenceEngine(m).run(t(new int[] {2, 1, 1}, 1, -3), t(new int[] {1, 1, 1}, 0.25), null);
        assertThat(out.output().data()).containsExactly(2.25, 0.25);
        assertThat(out.hN().data()).containsExactly(0.25);
    }

    @Test
    void gruAppliesResetToRecurrentCandidateIncludingItsBias() {
        // r = sigmoid(0) = 0.5, z = sigmoid(0) = 0.5, n = tanh(x*1 + r*(h*1 + 2)) with x=0.1, h=0.3
        RnnModel m = new RnnModel(CellType.GRU, List.of(new Layer(t(new int[] {3, 1}, 0, 0, 1), t(new int[] {3, 1}, 0, 0, 1),
                t(new int[] {3}, 0, 0, 0), t(new int[] {3}, 0, 0, 2))));
        RnnOutput out = new CpuReferenceEngine(m).run(t(new int[] {1, 1, 1}, 0.1), t(new int[] {1, 1, 1}, 0.3), null);
        double n = Math.tanh(0.1 + 0.5 * (0.3 + 2));
        assertThat(out.output().data()[0]).isEqualTo(0.5 * n + 0.5 * 0.3);
    }

    @Test
    void lstmGateOrderIsIfgo() {
        // only the g row has weight; i=f=o=sigmoid(0)=0.5; c1 = 0.5*c0 + 0.5*tanh(x); h1 = 0.5*tanh(c1)
        RnnModel m = new RnnModel(CellType.LSTM, List.of(new Layer(t(new int[] {4, 1}, 0, 0, 1, 0), t(new int[] {4, 1}, 0, 0, 0, 0),
                t(new int[] {4}, 0, 0, 0, 0), t(new int[] {4}, 0, 0, 0, 0))));
        RnnOutput out = new CpuReferenceEngine(m).run(t(new int[] {1, 1, 1}, 0.7), null, t(new int[] {1, 1, 1}, 0.2));
        double c1 = 0.5 * 0.2 + 0.5 * Math.tanh(0.7);
        assertThat(out.cN().data()[0]).isEqualTo(c1);
        assertThat(out.output().data()[0]).isEqualTo(0.5 * Math.tanh(c1));
    }

    @Test
    void stackedLayersFeedHiddenStateUpward() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 5, 7, 3, 0.5, 1.0, 1);
        Tensor x = SyntheticModels.input(4, 2, 5, 2);
        RnnOutput all = new CpuReferenceEngine(m).run(x, null, null);
        // running the layers one at a time gives the same result
        Tensor seq = x;
        for (int k = 0; k < 3; k++) {
            RnnModel one = new RnnModel(CellType.RNN_TANH, List.of(m.layers().get(k)));
            seq = new CpuReferenceEngine(one).run(seq, null, null).output();
        }
        assertThat(all.output()).isEqualTo(seq);
        assertThat(all.hN().shape()).containsExactly(3, 2, 7);
    }

    @Test
    void rejectsWrongInputSizeNamingBoth() {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 5, 7, 1, 0.5, 1.0, 1);
        assertThatThrownBy(() -> new CpuReferenceEngine(m).run(Tensor.zeros(3, 1, 6), null, null))
                .isInstanceOf(SprnnException.class).hasMessageContaining("6 features").hasMessageContaining("input size is 5");
    }
}
