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
