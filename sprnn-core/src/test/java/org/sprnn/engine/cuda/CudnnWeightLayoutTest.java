package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.Cudnn;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

/**
 * cuda-cudnn's weight placement without a GPU: each cuDNN (layer, linLayerID) against PyTorch's state-dict layout, and a
 * whole weight space laid out as cuDNN 9 describes it (per pseudo-layer: the G input matrices, the G recurrent ones, then
 * their biases; each matrix [1, H, cols] row-major) filled and read back into PyTorch's tensors.
 */
class CudnnWeightLayoutTest {

    @Test
    void lstmIdsAreInputThenRecurrentGatesInPyTorchOrder() {
        int h = 5, in = 3;
        String[] gates = {"i", "f", "g", "o"};
        for (int id = 0; id < 8; id++) {
            CudnnWeightLayout.Block b = CudnnWeightLayout.block(CellType.LSTM, h, in, id);
            assertThat(b.recurrent()).as("id %d", id).isEqualTo(id >= 4);
            assertThat(b.gate()).as("id %d is gate %s", id, gates[id % 4]).isEqualTo(id % 4);
            assertThat(b.rowStart()).isEqualTo((id % 4) * h);
            assertThat(b.rows()).isEqualTo(h);
            assertThat(b.cols()).isEqualTo(id >= 4 ? h : in);
            assertThat(b.matrixName(2)).isEqualTo(id >= 4 ? "weight_hh_l2" : "weight_ih_l2");
            assertThat(b.biasName(0)).isEqualTo(id >= 4 ? "bias_hh_l0" : "bias_ih_l0");
        }
        assertThat(CudnnWeightLayout.linLayerIds(CellType.LSTM)).isEqualTo(8);
    }

    @Test
    void gruIdsAreResetUpdateNewAsPyTorch() {
        // PyTorch's GRU rows r, z, n; cuDNN's linLayerIDs 0/3 reset, 1/4 update, 2/5 new memory
        for (int id = 0; id < 6; id++) {
            CudnnWeightLayout.Block b = CudnnWeightLayout.block(CellType.GRU, 7, 2, id);
            assertThat(b.gate()).isEqualTo(id % 3);
            assertThat(b.recurrent()).isEqualTo(id >= 3);
            assertThat(b.rowStart()).isEqualTo((id % 3) * 7);
        }
        assertThat(CudnnWeightLayout.linLayerIds(CellType.GRU)).isEqualTo(6);
    }

    @Test
    void vanillaCellsHaveOneInputAndOneRecurrentMatrix() {
        for (CellType c : List.of(CellType.RNN_RELU, CellType.RNN_TANH)) {
            assertThat(CudnnWeightLayout.linLayerIds(c)).isEqualTo(2);
            assertThat(CudnnWeightLayout.block(c, 4, 9, 0)).isEqualTo(new CudnnWeightLayout.Block(false, 0, 0, 4, 9));
            assertThat(CudnnWeightLayout.block(c, 4, 9, 1)).isEqualTo(new CudnnWeightLayout.Block(true, 0, 0, 4, 4));
        }
        assertThatThrownBy(() -> CudnnWeightLayout.block(CellType.RNN_RELU, 4, 9, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CudnnWeightLayout.block(CellType.LSTM, 4, 9, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cellModesAreCudnns() {
        assertThat(CudnnWeightLayout.cellMode(CellType.RNN_RELU)).isEqualTo(Cudnn.RNN_RELU).isZero();
        assertThat(CudnnWeightLayout.cellMode(CellType.RNN_TANH)).isEqualTo(Cudnn.RNN_TANH).isEqualTo(1);
        assertThat(CudnnWeightLayout.cellMode(CellType.LSTM)).isEqualTo(Cudnn.LSTM).isEqualTo(2);
        assertThat(CudnnWeightLayout.cellMode(CellType.GRU)).isEqualTo(Cudnn.GRU).isEqualTo(3);
    }

    /** A whole weight space as cuDNN 9 lays out a stacked model, filled and read back into each PyTorch tensor. */
    @ParameterizedTest
    @EnumSource(CellType.class)
    void aWholeWeightSpaceRoundTripsToPyTorchsTensors(CellType cell) {
        int hidden = 6, input = 4, layers = 3, g = cell.gates();
        RnnModel model = SyntheticModels.random(cell, input, hidden, layers, 0.5, 1.0, 11);
        // cuDNN's layout, per pseudo-layer: W_0..W_{G-1} [H][in], R_0..R_{G-1} [H][H], then bW_0.., bR_0.. [H]
        long[] layerStart = new long[layers + 1];
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? input : hidden;
            layerStart[k + 1] = layerStart[k] + (long) g * hidden * in + (long) g * hidden * hidden + 2L * g * hidden;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(4 * layerStart[layers]);
            for (int k = 0; k < layers; k++) {
                int in = k == 0 ? input : hidden;
                Layer layer = model.layers().get(k);
                for (int id = 0; id < 2 * g; id++) {
                    CudnnWeightLayout.Block b = CudnnWeightLayout.block(cell, hidden, in, id);
                    long m = layerStart[k] + (b.recurrent() ? (long) g * hidden * in + (long) b.gate() * hidden * hidden
                            : (long) b.gate() * hidden * in);
                    long bias = layerStart[k] + (long) g * hidden * in + (long) g * hidden * hidden + (long) id * hidden;
                    CudnnWeightLayout.writeMatrix(image, Precision.FP32, m, new int[] {1, hidden, b.cols()},
                            new int[] {hidden * b.cols(), b.cols(), 1}, layer, k, b);
                    CudnnWeightLayout.writeBias(image, Precision.FP32, bias, new int[] {1, hidden, 1}, new int[] {hidden, 1, 1}, layer, k, b);
                }
            }
            // read back as PyTorch's tensors: weight_ih_lk is W_0..W_{G-1} stacked, weight_hh_lk the R's, biases alike
            for (int k = 0; k < layers; k++) {
                int in = k == 0 ? input : hidden;
                Layer layer = model.layers().get(k);
                long w = layerStart[k], r = w + (long) g * hidden * in, bW = r + (long) g * hidden * hidden, bR = bW + (long) g * hidden;
                assertThat(read(image, w, g * hidden * in)).as("weight_ih_l%d", k).containsExactly(floats(layer.wIh().data()));
                assertThat(read(image, r, g * hidden * hidden)).as("weight_hh_l%d", k).containsExactly(floats(layer.wHh().data()));
                assertThat(read(image, bW, g * hidden)).as("bias_ih_l%d", k).containsExactly(floats(layer.bIh().data()));
                assertThat(read(image, bR, g * hidden)).as("bias_hh_l%d", k).containsExactly(floats(layer.bHh().data()));
            }
        }
    }

    @Test
    void stridesAreHonoured() {
        // a layout cuDNN might use: rows padded to 8 elements, and a column-major one
        RnnModel model = SyntheticModels.random(CellType.GRU, 3, 4, 1, 1.0, 1.0, 5);
        Layer layer = model.layers().get(0);
        CudnnWeightLayout.Block b = CudnnWeightLayout.block(CellType.GRU, 4, 3, 1); // W_z: rows 4..7 of weight_ih
        try (Arena a = Arena.ofConfined()) {
            MemorySegment padded = a.allocate(4 * 64);
            CudnnWeightLayout.writeMatrix(padded, Precision.FP32, 10, new int[] {1, 4, 3}, new int[] {32, 8, 1}, layer, 0, b);
            MemorySegment colMajor = a.allocate(4 * 64);
            CudnnWeightLayout.writeMatrix(colMajor, Precision.FP32, 0, new int[] {1, 4, 3}, new int[] {12, 1, 4}, layer, 0, b);
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 3; c++) {
                    float want = (float) layer.wIh().data()[(4 + r) * 3 + c];
                    assertThat(padded.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 10 + r * 8 + c)).isEqualTo(want);
                    assertThat(colMajor.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, r + c * 4L)).isEqualTo(want);
                }
            }
            // the padding between rows stays zero
            assertThat(padded.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 10 + 3)).isZero();
        }
    }

    @Test
    void fp16WeightsAreRoundedAsTheOtherEnginesRoundThem() {
        RnnModel model = SyntheticModels.random(CellType.RNN_TANH, 2, 3, 1, 1.0, 1.0, 9);
        Layer layer = model.layers().get(0);
        CudnnWeightLayout.Block b = CudnnWeightLayout.block(CellType.RNN_TANH, 3, 2, 1);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(2 * 9);
            CudnnWeightLayout.writeMatrix(image, Precision.FP16, 0, new int[] {1, 3, 3}, new int[] {9, 3, 1}, layer, 0, b);
            for (int i = 0; i < 9; i++) {
                assertThat(image.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i))
                        .isEqualTo(Float.floatToFloat16((float) layer.wHh().data()[i]));
            }
        }
    }

    @Test
    void anUnexpectedShapeOrPlaceIsRefusedNamingTheTensor() {
        RnnModel model = SyntheticModels.random(CellType.LSTM, 3, 4, 2, 1.0, 1.0, 5);
        Layer layer = model.layers().get(1);
        CudnnWeightLayout.Block b = CudnnWeightLayout.block(CellType.LSTM, 4, 4, 6); // R_g of layer 1
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(4 * 64);
            assertThatThrownBy(() -> CudnnWeightLayout.writeMatrix(image, Precision.FP32, 0, new int[] {1, 4, 3}, new int[] {12, 3, 1},
                    layer, 1, b)).isInstanceOf(SprnnException.class)
                    .hasMessageContaining("weight_hh_l1 gate 2").hasMessageContaining("[1, 4, 3]").hasMessageContaining("expected [1, 4, 4]");
            assertThatThrownBy(() -> CudnnWeightLayout.writeMatrix(image, Precision.FP32, 2, new int[] {2, 4, 4}, new int[] {16, 4, 1},
                    layer, 1, b)).isInstanceOf(SprnnException.class).hasMessageContaining("expected [1, 4, 4]");
            assertThatThrownBy(() -> CudnnWeightLayout.writeMatrix(image, Precision.FP32, 60, new int[] {1, 4, 4}, new int[] {16, 4, 1},
                    layer, 1, b)).isInstanceOf(SprnnException.class).hasMessageContaining("outside its weight space of 64 elements");
            assertThatThrownBy(() -> CudnnWeightLayout.writeBias(image, Precision.FP32, 0, new int[] {1, 5, 1}, new int[] {5, 1, 1},
                    layer, 1, b)).isInstanceOf(SprnnException.class).hasMessageContaining("bias_hh_l1 gate 2");
        }
    }

    private static float[] read(MemorySegment image, long start, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = image.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, start + i);
        }
        return f;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
