package org.sprnn.model;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/** A model's shape messages say what is wrong, never "has shape [0, 0], expected [0, 0]" (session 22's fuzzing). */
class RnnModelShapesTest {

    private static RnnModel model(Tensor wIh, Tensor wHh, int rows) {
        return new RnnModel(CellType.RNN_TANH, List.of(new Layer(wIh, wHh, Tensor.zeros(rows), Tensor.zeros(rows))));
    }

    @Test
    void aHiddenSizeOfZeroIsNamed() {
        assertThatThrownBy(() -> model(Tensor.zeros(0, 3), Tensor.zeros(0, 0), 0)).isInstanceOf(SprnnException.class)
                .hasMessage("weight_hh_l0 has shape [0, 0]: a hidden size of 0 (a layer needs at least one hidden unit and one input)");
    }

    @Test
    void anInputSizeOfZeroIsNamed() {
        assertThatThrownBy(() -> model(Tensor.zeros(16, 0), Tensor.zeros(16, 16), 16)).isInstanceOf(SprnnException.class)
                .hasMessage("weight_ih_l0 has shape [16, 0]: an input size of 0 (a layer needs at least one hidden unit and one input)");
    }

    @Test
    void aWeightOfOtherRankIsNamedAsSuch() {
        assertThatThrownBy(() -> model(Tensor.zeros(4, 3), Tensor.zeros(16), 4)).isInstanceOf(SprnnException.class)
                .hasMessage("weight_hh_l0 has shape [16]: a weight matrix has two dimensions, [gate rows, inputs]");
        assertThatThrownBy(() -> model(Tensor.zeros(4, 3, 1), Tensor.zeros(4, 4), 4)).isInstanceOf(SprnnException.class)
                .hasMessageStartingWith("weight_ih_l0 has shape [4, 3, 1]: a weight matrix has two dimensions");
    }

    @Test
    void aHiddenSizeWhoseGateRowsOverflowIsNamed() {
        Tensor wide = new Tensor(new int[] {0, 536870912}, new double[0]);
        assertThatThrownBy(() -> new RnnModel(CellType.LSTM, List.of(new Layer(Tensor.zeros(0, 3), wide, Tensor.zeros(0), Tensor.zeros(0)))))
                .isInstanceOf(SprnnException.class).hasMessageContaining("a hidden size of 536870912 gives 2147483648 gate rows");
    }

    @Test
    void aWrongShapeStillSaysWhatWasExpected() {
        assertThatThrownBy(() -> model(Tensor.zeros(4, 3), Tensor.zeros(4, 5), 4)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("weight_hh_l0 has shape [4, 5], expected [5, 5]");
    }
}
