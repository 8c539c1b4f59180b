package org.sprnn.engine.cuda;

import java.util.List;
import java.util.Optional;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.DeviceTimer;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The GPU baseline engines, {@code cuda-gemm} and {@code cuda-spmm}: a library product per timestep
 * plus a small element-wise kernel, the whole sequence captured in one CUDA graph and replayed.
 *
 * <p>Per layer, in the graph: the input projection {@code W_ih·x_t} for all T steps as one cuBLASLt
 * GEMM ({@code [T·B][I] → [T·B][G·H]}); then per step the recurrent product {@code W_hh·h_{t-1}}
 * (cuBLASLt dense GEMM, or cuSPARSE SpMM on CSR weights with row-major {@code [H][B]} operands) and
 * {@code rnn_cell_update.cu} (biases, nonlinearity, gate update, stores of h_t). Weights and the
 * operand copies of h are in the chosen precision (fp16, bf16 or fp32); accumulation, biases, cell
 * state and outputs are fp32. For {@code rnn_relu} on {@code cuda-gemm} the step is one kernel: the
 * projection GEMM adds both biases in its epilogue and the recurrent GEMM computes
 * {@code h_t = ReLU(W_hh·h_{t-1} + xproj_t)} in its epilogue, h kept in the operand precision.
 *
 * <p>Device memory, GEMM/SpMM plans (algorithms chosen by timing them), the compiled kernel and the
 * graph are made when the engine is built and when a run brings a new (T, B); a run only uploads,
 * replays and downloads. Output buffers are poisoned (NaN) before every replay.
 *
 * <p>The parts: this class is the public API and owns the two below; {@code CudaRnnDevice} holds what
 * lives as long as the engine (context, stream, library handles, the weights, dense or CSR);
 * {@code CudaRnnShapePlan} what one (T, B) needs (buffers, the graphs, their replay and timing), with a
 * {@code CudaRnnLayerPlan} per layer (its buffers and the autotuned products).
 */
public final class CudaRnnEngine implements Engine {

    /** Which library computes the recurrent product. */
    public enum Kind {
        GEMM("cuda-gemm"), SPMM("cuda-spmm");

        /** The engine name. */
        public final String engineName;

        Kind(String engineName) {
            this.engineName = engineName;
        }
    }

    private final RnnModel model;
    private final Kind kind;
    private final CudaRnnDevice device;
    private CudaRnnShapePlan plan; // for the last (T, B) seen
    private boolean closed;

    /**
     * Builds the engine: opens the device, uploads every layer's weights in {@code precision}.
     *
     * @throws SprnnException naming {@code --precision} if {@code precision} is not one of
     *                        {@link EngineOptions#PRECISIONS}, or (a {@link org.sprnn.internal.cuda.CudaException})
     *                        naming the CUDA call that failed
     */
    public CudaRnnEngine(RnnModel model, Kind kind, Precision precision) {
        if (model.bidirectional()) {
            throw new SprnnException(kind.engineName + ": a bidirectional model runs as a BidirectionalEngine of one engine per layer and direction (EngineProvider builds it)");
        }
        EngineOptions.checkPrecision(precision);
        this.model = model;
        this.kind = kind;
        this.device = new CudaRnnDevice(model, kind, precision);
    }

    @Override
    public String name() {
        return kind.engineName;
    }

    /** The operand precision's ({@link Precision#tolerance()}): 1e-5 fp32, 3e-3 fp16, 2e-2 bf16. */
    @Override
    public double tolerance() {
        return device.elem.tolerance();
    }

    /** The operand precision. */
    public Precision precision() {
        return device.elem;
    }

    /** The device's name. */
    public String deviceName() {
        return device.ctx.info().name();
    }

    /**
     * How the last shape was planned: the product's algorithm and its tuned time, e.g.
     * {@code fp16, cuBLASLt GEMM + ReLU epilogue: fastest of N algorithms timed in a CUDA graph, T µs per product}.
     * Empty before the first run.
     */
    public synchronized String details() {
        return plan == null ? "" : plan.details;
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

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        checkOpen();
        int batch = RunInputs.check(model, input, h0, c0);
        boolean halfH = device.elem == Precision.FP16; // h is an fp16 operand between steps (cuSPARSE need not return inf beyond 65504)
        if (halfH) {
            Float32Range.requireFp16(h0, name());
        }
        RnnOutput out = plan(input.dim(0), batch).run(input, h0, c0);
        return Float32Range.requireInRange(halfH ? Float32Range.requireFp16Exchange(out, name() + " fp16") : out);
    }

    /**
     * Times replays of the captured sequence with CUDA events after warm-up replays, rotating through the
     * input sets (uploaded once; copied into the input buffer before each replay, untimed); the full graph
     * and the recurrent part alone (layer 0's input projection excluded) are timed in alternation. The
     * times' {@link DeviceTimes#how()} is {@link #details()}.
     */
    @Override
    public Optional<DeviceTimer> deviceTimer() {
        return Optional.of(this::timeReplays);
    }

    /**
     * Times graph replays with CUDA events after {@code warmup} untimed replays, rotating through
     * {@code inputSets} (uploaded once; copied into the input buffer before each replay, untimed).
     * The full graph and the recurrent part alone (layer 0's input projection excluded) are timed in
     * alternation.
     */
    private synchronized DeviceTimes timeReplays(List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps) {
        checkOpen();
        if (inputSets.isEmpty()) {
            throw new IllegalArgumentException("no input sets");
        }
        int batch = RunInputs.check(model, inputSets.get(0), h0, c0);
        return plan(inputSets.get(0).dim(0), batch).timeReplays(inputSets, h0, c0, warmup, reps);
    }

    private CudaRnnShapePlan plan(int steps, int batch) {
        if (plan != null && plan.steps == steps && plan.batch == batch) {
            return plan;
        }
        if (plan != null) {
            plan.close();
            plan = null;
        }
        plan = new CudaRnnShapePlan(device, steps, batch);
        return plan;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(kind.engineName + " engine used after close");
        }
    }

    /**
     * Frees every device resource; idempotent.
     *
     * <p>Nothing else releases them: an engine dropped without {@code close()} keeps its device memory,
     * pinned host memory, streams, modules and its reference on the device's primary context until the
     * process exits (there is no Cleaner; see {@link org.sprnn.engine.Engine}).
     */
    @Override
    public synchronized void close() {
        // No Cleaner on purpose (yet): the release would run on the Cleaner's thread, making the context
        // current there and freeing memory while other engines may run on it; plausible with the driver
        // API, but not validated on a GPU. A Cleaner would also need the engine's state moved into a
        // holder that does not reference the engine (CudaRnnDevice and the plan already are such).
        if (closed) {
            return;
        }
        closed = true;
        Resources all = new Resources(); // the plan first, then the device; the first failure rethrown
        all.add(device);
        if (plan != null) {
            all.add(plan);
            plan = null;
        }
        all.close();
    }
}
