// CudnnWeightLayout.java — where each PyTorch weight goes in a cuDNN weight space, as pure Java so that the mapping is
// tested without a GPU. cuDNN numbers a layer's matrices by linLayerID: 0..G-1 are the input matrices (W, applied to the
// layer's input x), G..2G-1 the recurrent ones (R, applied to h), each gate its own H-row block with its own bias (DOUBLE
// bias mode: b_W with W, b_R with R). cuDNN's gate order is PyTorch's (LSTM i, f, g, o; GRU r, z, n), and its GRU applies r
// to R_n h + b_Rn as PyTorch applies it to W_hn h + b_hn, so linLayerID g is rows [g·H, (g+1)·H) of weight_ih (g < G) or
// weight_hh (g ≥ G), and the matching rows of bias_ih / bias_hh. Where cuDNN puts the block and how it strides it is
// asked of cuDNN (cudnnGetRNNWeightParams, cudnnGetTensorNdDescriptor) and honoured here.
package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;

/** The PyTorch tensor block behind each cuDNN {@code (pseudoLayer, linLayerID)}, and the writing of it into a weight-space image. */
final class CudnnWeightLayout {
    private CudnnWeightLayout() {
    }

    /**
     * The PyTorch block of one linLayerID.
     *
     * @param recurrent {@code false}: rows of {@code weight_ih_l{k}} and {@code bias_ih_l{k}}; {@code true}: of
     *                  {@code weight_hh_l{k}} and {@code bias_hh_l{k}}
     * @param gate      the gate (PyTorch's row block): LSTM 0..3 = i, f, g, o; GRU 0..2 = r, z, n
     * @param rowStart  the first row, {@code gate·H}
     * @param rows      H
     * @param cols      the matrix's columns: the layer's input size, or H for a recurrent matrix
     */
    record Block(boolean recurrent, int gate, int rowStart, int rows, int cols) {
        /** PyTorch's name of the matrix, e.g. {@code weight_hh_l1}. */
        String matrixName(int layer) {
            return (recurrent ? "weight_hh_l" : "weight_ih_l") + layer;
        }

        /** PyTorch's name of the bias, e.g. {@code bias_ih_l0}. */
        String biasName(int layer) {
            return (recurrent ? "bias_hh_l" : "bias_ih_l") + layer;
        }
    }

    /** How many linLayerIDs a layer of {@code cell} has: 2G (G input matrices, G recurrent ones). */
    static int linLayerIds(CellType cell) {
        return 2 * cell.gates();
    }

    /**
     * The block of {@code linLayerId} for a layer of {@code cell} with {@code hidden} units and {@code layerInput} inputs.
     *
     * @throws IllegalArgumentException outside 0..2G-1
     */
    static Block block(CellType cell, int hidden, int layerInput, int linLayerId) {
        int g = cell.gates();
        if (linLayerId < 0 || linLayerId >= 2 * g) {
            throw new IllegalArgumentException("linLayerID " + linLayerId + " outside 0.." + (2 * g - 1) + " for " + cell.id());
        }
        boolean rec = linLayerId >= g;
        int gate = rec ? linLayerId - g : linLayerId;
        return new Block(rec, gate, gate * hidden, hidden, rec ? hidden : layerInput);
    }

    /** cuDNN's cell mode ({@code cudnnRNNMode_t}) of a cell. */
    static int cellMode(CellType cell) {
        return switch (cell) {
            case RNN_RELU -> org.sprnn.internal.cuda.Cudnn.RNN_RELU;
            case RNN_TANH -> org.sprnn.internal.cuda.Cudnn.RNN_TANH;
            case LSTM -> org.sprnn.internal.cuda.Cudnn.LSTM;
            case GRU -> org.sprnn.internal.cuda.Cudnn.GRU;
        };
    }

    /**
     * Writes {@code block}'s matrix of {@code layer} into {@code image} (the host copy of a weight space, elements of
     * {@code elem}): element (r, c) at element index {@code start + r·strides[n-2] + c·strides[n-1]}, where cuDNN
     * described the matrix as {@code dims}/{@code strides} ({@code [1, rows, cols]} in cuDNN 9; any leading extents must be 1).
     *
     * @param start the matrix's first element, counted from the start of the weight space
     * @throws SprnnException if cuDNN's shape is not the block's, or the block would fall outside the image
     */
    static void writeMatrix(MemorySegment image, Precision elem, long start, int[] dims, int[] strides, Layer layer,
                            int layerIndex, Block block) {
        double[] src = (block.recurrent() ? layer.wHh() : layer.wIh()).data();
        expectShape(dims, strides, block.rows(), block.cols(), block.matrixName(layerIndex) + " gate " + block.gate());
        write(image, elem, start, strides[dims.length - 2], strides[dims.length - 1], src, block.rowStart(), block.rows(), block.cols(),
                block.matrixName(layerIndex));
    }

    /**
     * Writes {@code block}'s bias of {@code layer}: cuDNN describes it as {@code [1, rows, 1]}; element r at
     * {@code start + r·strides[n-2]}.
     */
    static void writeBias(MemorySegment image, Precision elem, long start, int[] dims, int[] strides, Layer layer,
                          int layerIndex, Block block) {
        double[] src = (block.recurrent() ? layer.bHh() : layer.bIh()).data();
        expectShape(dims, strides, block.rows(), 1, block.biasName(layerIndex) + " gate " + block.gate());
        write(image, elem, start, strides[dims.length - 2], 0, src, block.rowStart(), block.rows(), 1, block.biasName(layerIndex));
    }

    /** Checks that {@code dims} is {@code [1, ..., rows, cols]} (a bias: cols 1) with non-negative strides. */
    static void expectShape(int[] dims, int[] strides, int rows, int cols, String what) {
        boolean ok = dims.length >= 2 && strides.length == dims.length && dims[dims.length - 2] == rows && dims[dims.length - 1] == cols;
        for (int i = 0; ok && i < dims.length; i++) {
            ok = strides[i] >= 0 && (i >= dims.length - 2 || dims[i] == 1);
        }
        if (!ok) {
            throw new SprnnException("cuDNN describes " + what + " as " + Arrays.toString(dims) + " (strides " + Arrays.toString(strides)
                    + "), expected [1, " + rows + ", " + cols + "]: this cuDNN lays out its weight space differently from what sprnn knows");
        }
    }

    private static void write(MemorySegment image, Precision elem, long start, int rowStride, int colStride, double[] src,
                              int rowStart, int rows, int cols, String what) {
        long capacity = image.byteSize() / elem.bytes();
        long last = start + (long) (rows - 1) * rowStride + (long) (cols - 1) * colStride;
        if (start < 0 || last >= capacity) {
            throw new SprnnException("cuDNN places " + what + " at elements " + start + ".." + last + ", outside its weight space of "
                    + capacity + " elements");
        }
        for (int r = 0; r < rows; r++) {
            long base = start + (long) r * rowStride;
            int from = (rowStart + r) * cols;
            for (int c = 0; c < cols; c++) {
                CudaPrecision.put(elem, image, base + (long) c * colStride, src[from + c]);
            }
        }
    }
}
