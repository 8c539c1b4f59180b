package org.sprnn.engine;

import org.sprnn.Precision;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;

/**
 * Predicted µs per timestep of each GPU engine: an analytic term per engine for the trend, corrected by what that
 * engine measured on an H100 SXM (132 SMs) over issue 14's grid (cells rnn_relu and lstm, hidden 256…4608, batch 1…16,
 * density 1…100%, T 64, fp16 weights; the table {@code h100-grid.csv} in this package's resources, made by
 * {@code scripts/calibration_from_grid.py} from {@code results/suite/session10}). At a measured shape the prediction is
 * the measurement; elsewhere the analytic term times the measured/analytic ratio interpolated multilinearly between
 * the measured shapes that bracket it, in log gate count, log hidden, log batch and log density (for the two sparse
 * engines; the dense ones' rows at every density count alike), clamped at the grid's edges. Per layer, summed
 * over layers; the input projection of layer 0 is excluded, as in {@code bench}'s recurrent column. On another device
 * the figures are the H100's, marked so, and {@code sprnn explain --tune} measures instead.
 *
 * <p>The analytic terms (the trend between and beyond the measured shapes):
 * <ul>
 *   <li>{@code cuda-sparse-persistent}: a step's fixed cost growing with H (the exchange floor) plus the nonzeros
 *       times the batch over the rate the kernel sustains (session 8's three shapes).
 *   <li>{@code cuda-gemm}: a step's fixed cost in a CUDA graph (launches, cell update) plus reading the dense W_hh
 *       at the memory rate.
 *   <li>{@code cuda-dense-persistent}: a fixed step cost plus every weight of W_hh (gates × H², nonzero or not) at a
 *       rate that falls with the batch: {@code 1.11 µs + W × (0.360 + 0.0648 × batch) µs per million weights}.
 *   <li>{@code cuda-cudnn} (its {@code auto} algorithm, fp16 data): cuDNN's persistent kernels follow no smooth law in
 *       the shape (relu 2304 takes 9.8 µs at batch 4 and 5.1 at batch 16), so its term is cuda-gemm's and the table
 *       does the rest; other algorithms and fp32 data are not predicted ({@code sprnn explain --tune} measures).
 *   <li>{@code cuda-spmm}: a power law in the nonzeros (cuSPARSE's CSR kernel is far from the memory bound here).
 * </ul>
 * How far the predictions land from a second, independent run of the grid and from shapes off it:
 * {@code results/suite/session10/README.md}.
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
    /** The measured shapes, loaded once from the resource. */
    private static final Calibration MEASURED = Calibration.load("h100-grid.csv");

    private CostModel() {
    }

    /**
     * The sparse persistent kernel: exchange floor plus the nonzeros' arithmetic.
     *
     * @param model the model, every layer (and direction) counted
     * @param batch the batch size B
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost sparsePersistent(RnnModel model, int batch) {
        double us = 0;
        for (Layer l : recurrences(model)) {
            us += layer(SPARSE, model, l, batch);
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * A persistent engine's prediction ({@link #sparsePersistent} or {@link #densePersistent}) for a bidirectional model
     * whose layer {@code k} runs its two directions at once where {@code atOnce[k] < 1}: that layer's two directions
     * cost their sum times {@code atOnce[k]} (the plans' predicted step on half the device over twice the whole's, for
     * the layers the engine runs that way), the others their sum.
     *
     * @param model a bidirectional model
     * @param batch the batch size B
     * @param dense the dense persistent kernel (else the sparse one)
     * @param atOnce per layer, the factor on its two directions' summed cost (1: one after the other)
     * @return the prediction
     */
    public static StepCost persistentBidirectional(RnnModel model, int batch, boolean dense, double[] atOnce) {
        if (!model.bidirectional() || atOnce.length != model.numLayers()) {
            throw new org.sprnn.SprnnException("cost model: " + atOnce.length + " factors for a model of " + model.numLayers()
                    + " layers" + (model.bidirectional() ? "" : ", not bidirectional"));
        }
        String engine = dense ? DENSE : SPARSE;
        double us = 0;
        for (int k = 0; k < model.numLayers(); k++) {
            us += atOnce[k] * (layer(engine, model, model.layers().get(k), batch) + layer(engine, model, model.reverseLayers().get(k), batch));
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * Dense cuBLASLt product per step: fixed cost plus W_hh's bytes at the memory rate.
     *
     * @param model the model, every layer (and direction) counted
     * @param batch the batch it runs at
     * @param precision the weights' precision, which sets W_hh's bytes (the table's fp16 figure scaled by the bytes)
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost gemm(RnnModel model, int batch, Precision precision) {
        double us = 0;
        for (Layer l : recurrences(model)) {
            us += layer(GEMM, model, l, batch) * gemmLayer((long) l.wHh().size() * precision.bytes())
                    / gemmLayer((long) l.wHh().size() * Precision.FP16.bytes());
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * cuSPARSE CSR product per step: fixed cost plus a cost per nonzero.
     *
     * @param model the model, every layer (and direction) counted
     * @param batch the batch it runs at
     * @return the predicted µs per step and the calibration it rests on
     */
    public static StepCost spmm(RnnModel model, int batch) {
        double us = 0;
        for (Layer l : recurrences(model)) {
            us += layer(SPMM, model, l, batch);
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
        for (Layer l : recurrences(model)) {
            us += layer(DENSE, model, l, batch);
        }
        return new StepCost(us, CALIBRATION);
    }

    /**
     * cuDNN with its {@code auto} algorithm and fp16 data (the only configuration the table measured).
     *
     * @param model     the model
     * @param batch     the batch it runs at
     * @param precision the data precision (only fp16 is predicted)
     * @param algorithm the {@code --cudnn-algo} value (only {@code auto} is predicted)
     * @return the prediction, or empty for another precision or algorithm
     */
    public static java.util.Optional<StepCost> cudnn(RnnModel model, int batch, Precision precision, String algorithm) {
        if (precision != Precision.FP16 || !"auto".equals(algorithm)) {
            return java.util.Optional.empty();
        }
        double us = 0;
        for (Layer l : recurrences(model)) {
            us += layer(CUDNN, model, l, batch);
        }
        return java.util.Optional.of(new StepCost(us, CALIBRATION));
    }

    /**
     * The recurrences a run steps through, one after the other: every layer, and a bidirectional model's reverse
     * layers too (each direction of each layer runs as an engine of its own, {@link ComposedFeatures}).
     */
    static java.util.List<Layer> recurrences(RnnModel model) {
        if (!model.bidirectional()) {
            return model.layers();
        }
        java.util.List<Layer> all = new java.util.ArrayList<>(model.layers());
        all.addAll(model.reverseLayers());
        return all;
    }

    /** An engine's analytic term for one layer of {@code gates} gates, hidden H, batch B and W_hh density d. */
    @FunctionalInterface
    interface Analytic {
        double at(int gates, int hidden, int batch, double density);
    }

    static final String SPARSE = "cuda-sparse-persistent";
    static final String DENSE = "cuda-dense-persistent";
    static final String GEMM = "cuda-gemm";
    static final String SPMM = "cuda-spmm";
    static final String CUDNN = "cuda-cudnn";

    /** The analytic term of an engine of the table (fp16 weights). */
    static Analytic analytic(String engine) {
        return switch (engine) {
            case SPARSE -> (g, h, b, d) -> sparsePersistentLayer(h, Math.round(d * g * (double) h * h), b);
            case DENSE -> (g, h, b, d) -> densePersistentLayer((long) g * h * h, b);
            case SPMM -> (g, h, b, d) -> spmmLayer(Math.round(d * g * (double) h * h));
            case GEMM, CUDNN -> (g, h, b, d) -> gemmLayer((long) g * h * h * Precision.FP16.bytes());
            default -> throw new IllegalArgumentException("no cost model for " + engine);
        };
    }

    /** One layer's prediction for an engine: the analytic term corrected by the measured shapes. */
    private static double layer(String engine, RnnModel model, Layer l, int batch) {
        int gates = model.cell().gates();
        int h = l.hiddenSize();
        double density = Math.max(1e-6, l.wHh().countNonZero() / ((double) gates * h * h));
        return predict(engine, gates, h, Math.max(1, batch), density);
    }

    /**
     * An engine's µs per step for one layer: the analytic term times the measured/analytic ratio interpolated over the
     * engine's measured shapes ({@link Calibration#correction}); at a measured shape the measurement itself (for the
     * dense engines, the geometric mean of their measurements at that shape's densities).
     */
    static double predict(String engine, int gates, int hidden, int batch, double density) {
        Analytic f = analytic(engine);
        boolean densityMatters = engine.equals(SPARSE) || engine.equals(SPMM);
        return f.at(gates, hidden, batch, density) * MEASURED.correction(engine, f, gates, hidden, batch, density, densityMatters);
    }

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
