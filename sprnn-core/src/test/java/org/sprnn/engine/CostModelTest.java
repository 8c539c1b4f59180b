package org.sprnn.engine;

// The cost model against the measurements it was fitted to (results/suite/session8/before-6d94fc5-h100, H100,
// batch 4, T 256, recurrent µs per step), within the ±25% its Javadoc promises, and its order of the engines
// there: the sparse persistent kernel first at every shape, as measured.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

class CostModelTest {
    // hidden, W_hh nonzeros (relu, one gate), measured: sparse persistent, cuda-gemm fp16, cuda-spmm fp16
    private static final double[][] MEASURED = {
        {1152, 1152 * 1152 * 0.1, 1.40, 4.00, 5.09},
        {2304, 2304 * 2304 * 0.3, 2.16, 5.70, 17.82},
        {5760, 5760 * 5760 * 0.1, 3.60, 26.05, 21.28},
    };

    @Test
    void predictionsAreWithinAQuarterOfTheMeasurementsTheyWereFittedTo() {
        for (double[] m : MEASURED) {
            int h = (int) m[0];
            long nnz = Math.round(m[1]);
            assertThat(CostModel.sparsePersistentLayer(h, nnz, 4)).as("persistent at %d", h).isCloseTo(m[2], within(0.25 * m[2]));
            assertThat(CostModel.gemmLayer((long) h * h * 2)).as("gemm at %d", h).isCloseTo(m[3], within(0.25 * m[3]));
            assertThat(CostModel.spmmLayer(nnz)).as("spmm at %d", h).isCloseTo(m[4], within(0.25 * m[4]));
            assertThat(CostModel.sparsePersistentLayer(h, nnz, 4)).isLessThan(Math.min(CostModel.gemmLayer((long) h * h * 2),
                    CostModel.spmmLayer(nnz)));
        }
    }

    @Test
    void aModelCostsTheSumOfItsLayersAndGrowsWithBatchDensityAndPrecisionBytes() {
        RnnModel one = SyntheticModels.random(CellType.GRU, 16, 64, 1, 0.2, 1.0, 3);
        RnnModel three = SyntheticModels.random(CellType.GRU, 16, 64, 3, 0.2, 1.0, 3);
        RnnModel denser = SyntheticModels.random(CellType.GRU, 16, 64, 1, 0.8, 1.0, 3);
        assertThat(CostModel.sparsePersistent(three, 4).microsPerStep())
                .isGreaterThan(2.5 * CostModel.sparsePersistent(one, 4).microsPerStep());
        assertThat(CostModel.sparsePersistent(one, 32).microsPerStep()).isGreaterThan(CostModel.sparsePersistent(one, 1).microsPerStep());
        assertThat(CostModel.sparsePersistent(denser, 4).microsPerStep()).isGreaterThan(CostModel.sparsePersistent(one, 4).microsPerStep());
        assertThat(CostModel.spmm(denser).microsPerStep()).isGreaterThan(CostModel.spmm(one).microsPerStep());
        assertThat(CostModel.gemm(one, Precision.FP32).microsPerStep()).isGreaterThan(CostModel.gemm(one, Precision.FP16).microsPerStep());
        assertThat(CostModel.gemm(one, Precision.FP16).basis()).isEqualTo(CostModel.CALIBRATION);
    }

    @Test
    void theDenseKernelPaysForEveryWeightAndIsWithinTenPercentOfItsMeasurements() {
        // results/suite/session9: dense persistent rows (H100; relu 1152 b1 1.67, b4 1.92; relu 2304 b1 3.40, b4 4.11)
        double[][] measured = {{1152, 1, 1.67}, {1152, 4, 1.92}, {2304, 1, 3.40}, {2304, 4, 4.11}};
        for (double[] m : measured) {
            long weights = (long) m[0] * (long) m[0];
            assertThat(CostModel.densePersistentLayer(weights, (int) m[1])).as("dense %s b%s", m[0], m[1])
                    .isCloseTo(m[2], within(0.10 * m[2]));
        }
        RnnModel sparse = SyntheticModels.random(CellType.RNN_RELU, 8, 512, 1, 0.05, 1.0, 1);
        RnnModel dense = SyntheticModels.random(CellType.RNN_RELU, 8, 512, 1, 1.0, 1.0, 1);
        assertThat(CostModel.densePersistent(sparse, 4).microsPerStep()).isEqualTo(CostModel.densePersistent(dense, 4).microsPerStep());
    }

    @Test
    void cudnnIsPredictedOnlyNearAMeasuredShape() {
        RnnModel relu1152 = SyntheticModels.random(CellType.RNN_RELU, 8, 1152, 1, 0.01, 1.0, 1);
        assertThat(CostModel.cudnn(relu1152, 1, Precision.FP16, "auto")).hasValueSatisfying(c -> assertThat(c.microsPerStep()).isEqualTo(1.33));
        assertThat(CostModel.cudnn(relu1152, 2, Precision.FP16, "auto")).isEmpty();
        assertThat(CostModel.cudnn(relu1152, 1, Precision.FP32, "auto")).isEmpty();
        assertThat(CostModel.cudnn(relu1152, 1, Precision.FP16, "standard")).isEmpty();
        RnnModel gru1152 = SyntheticModels.random(CellType.GRU, 8, 1152, 1, 0.01, 1.0, 1);
        assertThat(CostModel.cudnn(gru1152, 1, Precision.FP16, "auto")).isEmpty();
        RnnModel lstm2x2304 = SyntheticModels.random(CellType.LSTM, 8, 2304, 2, 0.01, 1.0, 1);
        assertThat(CostModel.cudnn(lstm2x2304, 4, Precision.FP16, "auto")).hasValueSatisfying(c -> assertThat(c.microsPerStep()).isCloseTo(2 * 16.37, within(1e-9)));
    }
}
