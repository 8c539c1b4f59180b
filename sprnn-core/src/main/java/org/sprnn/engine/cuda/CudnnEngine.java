package org.sprnn.engine.cuda;

import java.util.List;
import java.util.Optional;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.DeviceTimer;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.Engine;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * {@code cuda-cudnn}: the model run by cuDNN 9's {@code cudnnRNNForward} (inference mode), the library sprnn's users would
 * otherwise call, as a contender measured in the same process as sprnn's own engines.
 *
 * <p>One RNN descriptor per algorithm: all four cells ({@code CUDNN_RNN_RELU}, {@code _TANH}, {@code CUDNN_GRU},
 * {@code CUDNN_LSTM}: cuDNN's GRU applies r to {@code R_n h + b_Rn} as PyTorch does), the model's layers stacked,
 * unidirectional, linear input, no projection, double bias (zeros where the model has none: cuDNN's persistent
 * algorithms refuse the no-bias mode), fp32 math. The model's weights, pruned ones as the zeros they are, are written
 * once into the descriptor's weight space where {@code cudnnGetRNNWeightParams} puts each gate's block
 * ({@link CudnnWeightLayout}). Data (x, y, h, c) and weights are in the engine's precision ({@link CudnnDataFormat}), so
 * at fp16 cuDNN holds h and c in fp16 between steps: the engine refuses an h0, c0 or input beyond fp16's 65504, and an
 * output beyond it at any step is an overflow error, as for the other fp16 engines.
 *
 * <p>The algorithm ({@link CudnnAlgorithm}, {@code --cudnn-algo}) is one cuDNN algorithm, or {@code auto}: the persistent
 * ones first, STANDARD last, chosen per (T, B) by a trial forward, the reasons for the refused ones in {@link #details()}.
 * Where cuDNN refuses the configuration the engine throws a {@link CudnnEngineException} naming the algorithm, the shape,
 * the call, cuDNN's status and its own message.
 */
public final class CudnnEngine implements Engine {
    /** The engine's name. */
    public static final String NAME = "cuda-cudnn";

    private final RnnModel model;
    private final CudnnDataFormat format;
    private final String algorithmOption;
    private final List<CudnnAlgorithm> order;
    private final CudnnDevice device;
    private CudnnShapePlan plan; // for the last (T, B) seen
    private boolean closed;

    /**
     * Opens the device and a cuDNN handle; for a named algorithm also makes its descriptor and weight space, so that
     * cuDNN's refusal of the descriptor comes here.
     *
     * @param precision {@code fp16}, {@code bf16} or {@code fp32}: cuDNN's data type for x, y, h, c and the weights
     * @param algorithm {@code auto} or a {@link CudnnAlgorithm} id
     * @throws SprnnException (a {@link CudnnEngineException} where cuDNN refuses) naming what failed
     */
    public CudnnEngine(RnnModel model, Precision precision, String algorithm) {
        if (model.bidirectional()) {
            throw new SprnnException(NAME + ": a bidirectional model runs as a BidirectionalEngine of one engine per layer and direction (EngineProvider builds it)");
        }
        this.model = model;
        this.format = CudnnDataFormat.of(precision);
        this.order = CudnnAlgorithm.order(algorithm);
        this.algorithmOption = order.size() == 1 ? order.get(0).id : CudnnAlgorithm.AUTO;
        this.device = new CudnnDevice(model, format);
        if (order.size() == 1) {
            CudnnAlgorithm a = order.get(0);
            try {
                device.config(a, false);
            } catch (RuntimeException | Error e) {
                try {
                    device.close();
                } catch (RuntimeException closing) {
                    e.addSuppressed(closing);
                }
                if (e instanceof CudaException ce && ce.call().startsWith("cudnn")) {
                    throw new CudnnEngineException(CudnnEngineException.message(a, ce.code(), describeModel(), ce.getMessage()), a,
                            ce.call(), ce.code());
                }
                throw e;
            }
        }
    }

    private String describeModel() {
        return String.format(java.util.Locale.ROOT, "%s, hidden %d, %d layer%s, input %d, %s data", model.cell().id(), model.hiddenSize(),
                model.numLayers(), model.numLayers() == 1 ? "" : "s", model.inputSize(), format.id());
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Lengths ({@link org.sprnn.engine.ComposedFeatures#ENGINE_FEATURES}: one run per distinct length, {@link org.sprnn.engine.LengthSegments}). */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return org.sprnn.engine.ComposedFeatures.ENGINE_FEATURES;
    }

    /** A session whose states live on the Java heap, checked now ({@link org.sprnn.engine.ComposedFeatures#session}). */
    @Override
    public org.sprnn.engine.Session openSession(int batch, Tensor h0, Tensor c0) {
        return org.sprnn.engine.ComposedFeatures.session(this, model, batch, h0, c0);
    }

    /**
     * As the other GPU engines with 16-bit data: 3e-3 with fp16 (which cuDNN also holds h, c and the outputs in), 2e-2
     * with bf16. With fp32 data {@link #FP32_TOLERANCE}: cuDNN's persistent algorithms in fp32 land just above the
     * other engines' 1e-5 (1.24e-5 on the selftest's rnn_tanh hidden 256, T 50; STANDARD below 1e-5; H100,
     * results/suite/session9).
     */
    @Override
    public double tolerance() {
        return format.elem() == Precision.FP32 ? FP32_TOLERANCE : format.elem().tolerance();
    }

    /** The relative error cuDNN is held to with fp32 data: its persistent kernels' fp32 is not quite the others'. */
    public static final double FP32_TOLERANCE = 5e-5;

    /** The data precision, e.g. {@code fp16}. */
    public String precision() {
        return format.id();
    }

    /** The algorithm option: {@code auto} or one algorithm's id. */
    public String algorithmOption() {
        return algorithmOption;
    }

    /** The algorithm cuDNN ran the last shape with, or empty before the first run. */
    public synchronized Optional<CudnnAlgorithm> algorithm() {
        return plan == null ? Optional.empty() : Optional.of(plan.chosen.algorithm);
    }

    /** The device's name. */
    public String deviceName() {
        return device.ctx.info().name();
    }

    /**
     * How the last shape runs: cuDNN's version, the algorithm, the data and math types, and where {@code auto} fell back,
     * which algorithms cuDNN refused first and why. Empty before the first run.
     */
    public synchronized String details() {
        return plan == null ? "" : plan.how;
    }

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        checkOpen();
        int batch = RunInputs.check(model, input, h0, c0);
        if (format.halfH()) {
            requireFp16Inputs(input, h0, c0);
        }
        RnnOutput out = plan(input.dim(0), batch).run(input, h0, c0);
        return Float32Range.requireInRange(format.halfH() ? Float32Range.requireFp16Exchange(out, NAME + " fp16") : out);
    }

    /**
     * At fp16 cuDNN holds the input, h and c in fp16: an h0 beyond 65504 is refused as the other fp16 engines refuse it, a
     * c0 likewise, and an input beyond it is an overflow (its fp16 is infinite, and what cuDNN then returns need not show it).
     */
    private static void requireFp16Inputs(Tensor input, Tensor h0, Tensor c0) {
        Float32Range.requireFp16(h0, NAME);
        if (c0 != null) {
            int bad = firstBeyondFp16(c0.data());
            if (bad >= 0) {
                int[] s = c0.shape();
                throw new SprnnException("c0 holds " + c0.data()[bad] + " at " + index(bad, s) + ", beyond fp16's range (|c| <= 65504), in which "
                        + NAME + " holds c at --precision fp16 (use fp32)");
            }
        }
        int bad = firstBeyondFp16(input.data());
        if (bad >= 0) {
            throw new SprnnException("overflow: the input at " + index(bad, input.shape()) + " is " + input.data()[bad]
                    + ", beyond fp16's range (|x| <= 65504), in which " + NAME + " holds its input at --precision fp16 (use fp32)");
        }
    }

    private static int firstBeyondFp16(double[] d) {
        for (int i = 0; i < d.length; i++) {
            if (!(Math.abs(d[i]) <= Float32Range.FP16_MAX)) {
                return i;
            }
        }
        return -1;
    }

    private static String index(int i, int[] s) {
        return "[" + i / (s[1] * s[2]) + "][" + i / s[2] % s[1] + "][" + i % s[2] + "]";
    }

    /**
     * Times the forward with CUDA events: the whole {@code cudnnRNNForward}, and the recurrent part (a
     * {@code CUDNN_SKIP_INPUT} twin leaving layer 0's input GEMM out, where the input size is the hidden size), each a CUDA
     * graph replay where cuDNN's calls can be captured. {@link DeviceTimes#how()} says which.
     */
    @Override
    public Optional<DeviceTimer> deviceTimer() {
        return Optional.of(this::timeReplays);
    }

    private synchronized DeviceTimes timeReplays(List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps) {
        checkOpen();
        if (inputSets.isEmpty()) {
            throw new IllegalArgumentException("no input sets");
        }
        int batch = RunInputs.check(model, inputSets.get(0), h0, c0);
        return plan(inputSets.get(0).dim(0), batch).timeReplays(inputSets, h0, c0, warmup, reps);
    }

    private CudnnShapePlan plan(int steps, int batch) {
        if (plan != null && plan.steps == steps && plan.batch == batch) {
            return plan;
        }
        if (plan != null) {
            plan.close();
            plan = null;
        }
        plan = new CudnnShapePlan(device, order, steps, batch);
        return plan;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(NAME + " engine used after close");
        }
    }

    /**
     * Frees every device resource and the cuDNN handle; idempotent. As for the other CUDA engines, nothing else releases
     * them (see {@link Engine}).
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Resources all = new Resources(); // the plan first, then the device
        all.add(device);
        if (plan != null) {
            all.add(plan);
            plan = null;
        }
        all.close();
    }
}
