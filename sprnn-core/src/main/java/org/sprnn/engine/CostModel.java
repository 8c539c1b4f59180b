package org.sprnn.engine;

import org.sprnn.Precision;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;

/**
 * Predicted µs per timestep of each GPU engine, from a few terms fitted to measurements on an H100 SXM (132 SMs,
 * batch 4, T 256; the bench and ablation rows at hidden 1152 / 10%, 2304 / 30% and 5760 / 10%). The data, the fit
 * and how far the predictions land from it: results/suite/session8/before-6d94fc5-h100/README.md, "The cost model's
 * calibration". On another device the figures are the H100's, marked so, and {@code sprnn explain --tune} measures
 * instead. Per layer, summed over layers; the input projection of layer 0 is excluded, as in {@code bench}'s
 * recurrent column.
 *
 * <ul>
 *   <li>{@code cuda-sparse-persistent}: a step's fixed cost growing with H (the exchange floor) plus the nonzeros
 *       times the batch over the rate the kernel sustains; the three terms solved from the three shapes.
 *   <li>{@code cuda-gemm}: a step's fixed cost in a CUDA graph (launches, cell update) plus reading the dense W_hh
 *       at the memory rate.
 *   <li>{@code cuda-dense-persistent}: a fixed step cost plus every weight of W_hh (gates × H², nonzero or not) at a
 *       rate that falls with the batch: {@code 1.11 µs + W × (0.360 + 0.0648 × batch) µs per million weights}, least
 *       squares over the dense rows of {@code results/suite/session9} (relu 1152 and 2304, LSTM 1152, batch 1 and 4;
 *       within 9% of each).
 *   <li>{@code cuda-cudnn} (its {@code auto} algorithm, fp16 data): cuDNN's persistent kernels follow no smooth law in
 *       the shape (relu 2304 takes 10.3 µs at batch 4 and 5.7 at batch 16), so the prediction is the measured figure
 *       of the nearest shape of {@code results/suite/session9} with the same gate count and batch and a hidden size
 *       within 10%, and none elsewhere ({@code sprnn explain --tune} measures).
 *   <li>{@code cuda-spmm}: a power law in the nonzeros through the smallest and the largest shape (cuSPARSE's CSR
 *       kernel is far from the memory bound at these sizes and no line in the nonzeros or rows fits all three).
 * </ul>
 */
public final class CostModel {
    static final double PERSISTENT_FLOOR_US = 1.06;
    static final double PERSISTENT_FLOOR_US_PER_UNIT = 2.59e-4;
    static final double PERSISTENT_NNZ_BATCH_PER_US = 1.26e7;
    static final double GEMM_FIXED_US = 2.9;
    static final double GEMM_BYTES_PER_US = 3.0e6;
    static final double SPMM_SCALE_US = 0.02637;
    static final double DENSE_FIXED_US = 1.11;
    static final double DENSE_US_PER_MWEIGHT = 0.360;
    static final double DENSE_US_PER_MWEIGHT_BATCH = 0.0648;
    static final double SPMM_EXPONENT = 0.446;
    /** Where the constants come from, for {@link StepCost#basis()}. */
    public static final String CALIBRATION = "cost model, H100 calibration";

    private CostModel() {
    }

    /**
     * The sparse persistent kernel: exchange floor plus the nonzeros' arithmetic.
     *
     * @param model the model, every layer counted
     * @param batch the batch size B
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost sparsePersistent(RnnModel model, int batch) {
        double us = 0;
        for (Layer l : model.layers()) {
            us += sparsePersistentLayer(l.hiddenSize(), l.wHh().countNonZero(), batch);
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * Dense cuBLASLt product per step: fixed cost plus W_hh's bytes at the memory rate.
     *
     * @param model the model, every layer counted
     * @param precision the weights' precision, which sets W_hh's bytes
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost gemm(RnnModel model, Precision precision) {
        double us = 0;
        for (Layer l : model.layers()) {
            us += gemmLayer((long) l.wHh().size() * precision.bytes());
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * cuSPARSE CSR product per step: fixed cost plus a cost per nonzero.
     *
     * @param model the model, every layer counted
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost spmm(RnnModel model) {
        double us = 0;
        for (Layer l : model.layers()) {
            us += spmmLayer(l.wHh().countNonZero());
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * The dense persistent kernel: every weight of W_hh, nonzero or not, on-chip.
     *
     * @param model the model
     * @param batch the batch it runs at
     * @return the prediction
     */
    public static StepCost densePersistent(RnnModel model, int batch) {
        double us = 0;
        for (Layer l : model.layers()) {
            us += densePersistentLayer((long) l.wHh().size(), batch);
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * cuDNN with its {@code auto} algorithm and fp16 data, where a measured shape is near enough (see the class comment).
     *
     * @param model     the model
     * @param batch     the batch it runs at
     * @param precision the data precision (only fp16 has measurements)
     * @param algorithm the {@code --cudnn-algo} value (only {@code auto} has measurements)
     * @return the prediction, or empty where no measured shape is near
     */
    public static java.util.Optional<StepCost> cudnn(RnnModel model, int batch, Precision precision, String algorithm) {
        if (precision != Precision.FP16 || !"auto".equals(algorithm)) {
            return java.util.Optional.empty();
        }
        double us = 0;
        for (Layer l : model.layers()) {
            double best = Double.NaN;
            for (double[] m : CUDNN_MEASURED) {
                if ((int) m[0] == model.cell().gates() && (int) m[2] == batch && Math.abs(m[1] / l.hiddenSize() - 1) <= 0.10) {
                    best = m[3];
                }
            }
            if (Double.isNaN(best)) {
                return java.util.Optional.empty();
            }
            us += best;
        }
        return java.util.Optional.of(new StepCost(us, CALIBRATION + " (cuDNN: a measured shape)"));
    }

    /**
     * cuDNN {@code auto}, fp16 data, on the H100: {gates, hidden, batch, µs per step}, the medians of
     * {@code results/suite/session9} (grid-partial at T 64, cudnn-anchors' persist-static fp16 rows at T 256 for batch 16).
     */
    private static final double[][] CUDNN_MEASURED = {
        {1, 1152, 1, 1.33}, {1, 1152, 4, 4.01}, {1, 1152, 16, 3.87},
        {1, 2304, 1, 4.08}, {1, 2304, 4, 10.27}, {1, 2304, 16, 5.71},
        {4, 1152, 1, 3.06}, {4, 1152, 4, 3.13},
        {4, 2304, 1, 15.40}, {4, 2304, 4, 16.37},
    };

    /** One layer of the dense persistent kernel: µs per step for W_hh of that many weights. */
    static double densePersistentLayer(long weights, int batch) {
        return DENSE_FIXED_US + weights / 1e6 * (DENSE_US_PER_MWEIGHT + DENSE_US_PER_MWEIGHT_BATCH * batch);
    }

    /** One layer of the sparse persistent kernel: µs per step. */
    static double sparsePersistentLayer(int hidden, long nonzeros, int batch) {
        return PERSISTENT_FLOOR_US + PERSISTENT_FLOOR_US_PER_UNIT * hidden + (double) nonzeros * batch / PERSISTENT_NNZ_BATCH_PER_US;
    }

    /** One layer's dense product: µs per step for W_hh of that many bytes. */
    static double gemmLayer(long weightBytes) {
        return GEMM_FIXED_US + weightBytes / GEMM_BYTES_PER_US;
    }

    /** One layer's cuSPARSE product: µs per step. */
    static double spmmLayer(long nonzeros) {
        return SPMM_SCALE_US * Math.pow(Math.max(1, nonzeros), SPMM_EXPONENT);
    }
}
