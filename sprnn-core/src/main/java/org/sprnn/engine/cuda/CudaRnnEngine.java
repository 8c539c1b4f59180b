package org.sprnn.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEvent;
import org.sprnn.internal.cuda.CudaGraph;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.Cusparse;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.GemmPlan;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.internal.cuda.PinnedBuffer;
import org.sprnn.internal.cuda.SpmmPlan;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
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

    private static final long WORKSPACE_BYTES = 32L << 20; // cuBLASLt workspace, shared by all GEMMs (stream-ordered)
    private static final int TUNING_REPS = 20;

    private final RnnModel model;
    private final Kind kind;
    private final ElementType elem;
    private final boolean fusedRelu;
    private final int hidden, gates, layers;
    private final CudaContext ctx;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>(); // closed in reverse order
    private final CudaStream stream;
    private final CublasLt.Handle lt;
    private final Cusparse.Handle sp;
    private final DeviceBuffer workspace;
    private final KernelCompiler compiler;
    private final List<LayerWeights> weights = new ArrayList<>();
    private ShapePlan plan; // for the last (T, B) seen
    private boolean closed;

    /** One layer's weights on the device. */
    private record LayerWeights(
            DeviceBuffer wIh,        // [G*H][I] elem, row-major (cuBLASLt: op(A)=T of a [I×G*H] column-major)
            DeviceBuffer wHh,        // [G*H][H] elem, row-major (cuda-gemm only)
            DeviceBuffer csrOffsets, // [G*H+1] int32 (cuda-spmm only)
            DeviceBuffer csrColumns, // [nnz] int32, ascending per row (cuda-spmm only)
            DeviceBuffer csrValues,  // [nnz] elem (cuda-spmm only)
            long nnz,
            int inputSize,
            DeviceBuffer bIh,        // [G*H] fp32
            DeviceBuffer bHh,        // [G*H] fp32
            DeviceBuffer biasSum) {  // [G*H] elem, b_ih + b_hh rounded once (fused relu only)
    }

    /**
     * Builds the engine: opens the device, uploads every layer's weights.
     *
     * @throws SprnnException (a {@link org.sprnn.internal.cuda.CudaException}) naming the CUDA call that failed
     */
    public CudaRnnEngine(RnnModel model, Kind kind, String precision) {
        this.model = model;
        this.kind = kind;
        this.elem = ElementType.of(precision);
        this.fusedRelu = kind == Kind.GEMM && model.cell() == CellType.RNN_RELU;
        this.hidden = model.hiddenSize();
        this.gates = model.cell().gates();
        this.layers = model.numLayers();
        this.ctx = CudaContext.open(0);
        try {
            owned.push(ctx);
            stream = own(ctx.createStream());
            lt = own(CublasLt.get().new Handle(ctx));
            sp = kind == Kind.SPMM ? own(Cusparse.get().new Handle(ctx)) : null;
            if (sp != null) {
                sp.setStream(stream);
            }
            workspace = own(ctx.allocate(WORKSPACE_BYTES, "cuBLASLt workspace"));
            compiler = new KernelCompiler();
            for (int k = 0; k < layers; k++) {
                weights.add(upload(model.layers().get(k)));
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    private DeviceBuffer buffer(long bytes, String what) {
        return own(ctx.allocate(bytes, what));
    }

    private LayerWeights upload(Layer layer) {
        int rows = gates * hidden, in = layer.inputSize();
        DeviceBuffer wIh = uploadElems(layer.wIh().data(), "W_ih");
        DeviceBuffer wHh = null, offsets = null, columns = null, values = null;
        long nnz = 0;
        if (kind == Kind.GEMM) {
            wHh = uploadElems(layer.wHh().data(), "W_hh");
        } else {
            double[] w = layer.wHh().data();
            int[] rowStart = new int[rows + 1];
            for (int r = 0; r < rows; r++) {
                int n = 0;
                for (int j = 0; j < hidden; j++) {
                    if (w[r * hidden + j] != 0.0) {
                        n++;
                    }
                }
                rowStart[r + 1] = rowStart[r] + n;
            }
            nnz = rowStart[rows];
            long slots = Math.max(1, nnz);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment off = a.allocate(ValueLayout.JAVA_INT, rows + 1L);
                MemorySegment col = a.allocate(ValueLayout.JAVA_INT, slots);
                MemorySegment val = a.allocate((long) elem.bytes * slots, 4);
                for (int r = 0; r <= rows; r++) {
                    off.setAtIndex(ValueLayout.JAVA_INT, r, rowStart[r]);
                }
                long p = 0;
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < hidden; j++) {
                        double v = w[r * hidden + j];
                        if (v != 0.0) {
                            col.setAtIndex(ValueLayout.JAVA_INT, p, j);
                            elem.put(val, p, v);
                            p++;
                        }
                    }
                }
                offsets = buffer(off.byteSize(), "W_hh CSR row offsets");
                offsets.upload(off, 0, stream);
                columns = buffer(col.byteSize(), "W_hh CSR column indices");
                columns.upload(col, 0, stream);
                values = buffer(val.byteSize(), "W_hh CSR values");
                values.upload(val, 0, stream);
            }
        }
        DeviceBuffer bIh = uploadFloats(layer.bIh().data(), "b_ih");
        DeviceBuffer bHh = uploadFloats(layer.bHh().data(), "b_hh");
        DeviceBuffer biasSum = null;
        if (fusedRelu) {
            double[] s = new double[rows];
            for (int r = 0; r < rows; r++) {
                s[r] = layer.bIh().data()[r] + layer.bHh().data()[r];
            }
            biasSum = uploadElems(s, "b_ih + b_hh");
        }
        return new LayerWeights(wIh, wHh, offsets, columns, values, nnz, in, bIh, bHh, biasSum);
    }

    private DeviceBuffer uploadElems(double[] v, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate((long) elem.bytes * v.length, 4);
            for (int i = 0; i < v.length; i++) {
                elem.put(s, i, v[i]);
            }
            DeviceBuffer b = buffer(s.byteSize(), what);
            b.upload(s, 0, stream);
            return b;
        }
    }

    private DeviceBuffer uploadFloats(double[] v, String what) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4L * v.length, 4);
            for (int i = 0; i < v.length; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v[i]);
            }
            DeviceBuffer b = buffer(s.byteSize(), what);
            b.upload(s, 0, stream);
            return b;
        }
    }

    @Override
    public String name() {
        return kind.engineName;
    }

    /**
     * 1e-5 with fp32 weights; 3e-3 with fp16 weights (and h rounded to fp16 as the next product's operand);
     * 2e-2 with bf16 (8 significant bits). The selftest holds every cell, size, density and batch to these.
     */
    @Override
    public double tolerance() {
        return tolerance(elem.id());
    }

    /** The tolerance for a precision name (see {@link #tolerance()}). */
    public static double tolerance(String precision) {
        return switch (precision) {
            case "fp32" -> 1e-5;
            case "fp16" -> 3e-3;
            default -> 2e-2;
        };
    }

    /** The operand precision, e.g. {@code fp16}. */
    public String precision() {
        return elem.id();
    }

    /** The device's name. */
    public String deviceName() {
        return ctx.info().name();
    }

    /**
     * How the last shape was planned: the product's algorithm and its tuned time, e.g.
     * {@code cuBLASLt: fastest of 8 algorithms, 4.91 µs}. Empty before the first run.
     */
    public synchronized String details() {
        return plan == null ? "" : plan.details;
    }

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        checkOpen();
        int batch = RunInputs.check(model, input, h0, c0);
        ShapePlan p = plan(input.dim(0), batch);
        p.uploadInputs(input, h0, c0);
        p.poisonOutputs();
        p.graph().launch(stream);
        stream.synchronize();
        return Float32Range.requireInRange(p.download());
    }

    @Override
    public java.util.Optional<double[]> deviceMicrosPerRun(Tensor input, int warmup, int reps) {
        return java.util.Optional.of(timeReplays(List.of(input), null, null, warmup, reps).fullMicros());
    }

    /**
     * Per-replay times of the captured sequence, for {@code sprnn bench}.
     *
     * @param steps       T
     * @param fullMicros  whole graph (input projection + recurrence) per replay, µs
     * @param recurrentMicros the recurrent part alone (layer 0's input projection excluded) per replay, µs
     */
    public record ReplayTimes(int steps, double[] fullMicros, double[] recurrentMicros) {
    }

    /**
     * Times graph replays with CUDA events after {@code warmup} untimed replays, rotating through
     * {@code inputSets} (uploaded once; copied into the input buffer before each replay, untimed).
     * The full graph and the recurrent part alone are timed in alternation.
     */
    public synchronized ReplayTimes timeReplays(List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps) {
        checkOpen();
        if (inputSets.isEmpty()) {
            throw new IllegalArgumentException("no input sets");
        }
        int batch = RunInputs.check(model, inputSets.get(0), h0, c0);
        int steps = inputSets.get(0).dim(0);
        ShapePlan p = plan(steps, batch);
        List<DeviceBuffer> sets = new ArrayList<>();
        try (CudaEvent start = ctx.createEvent(); CudaEvent end = ctx.createEvent()) {
            for (Tensor x : inputSets) {
                RunInputs.check(model, x, h0, c0);
                if (x.dim(0) != steps || x.dim(1) != batch) {
                    throw new IllegalArgumentException("input sets differ in shape: " + x.shapeString());
                }
                p.uploadInputs(x, h0, c0);
                DeviceBuffer copy = ctx.allocate(p.x.bytes(), "benchmark input set");
                sets.add(copy);
                copy.copyFrom(p.x, stream);
                stream.synchronize();
            }
            CudaGraph full = p.graph(), proj = p.projectionGraph(), rec = p.recurrentGraph();
            double[] fullUs = new double[reps], recUs = new double[reps];
            for (int i = -warmup; i < reps; i++) {
                DeviceBuffer set = sets.get(Math.floorMod(i, sets.size()));
                p.x.copyFrom(set, stream);
                start.record(stream);
                full.launch(stream);
                end.record(stream);
                end.synchronize();
                float fullMs = end.millisSince(start);
                p.x.copyFrom(set, stream);
                proj.launch(stream);
                start.record(stream);
                rec.launch(stream);
                end.record(stream);
                end.synchronize();
                if (i >= 0) {
                    fullUs[i] = fullMs * 1000.0;
                    recUs[i] = end.millisSince(start) * 1000.0;
                }
            }
            stream.synchronize();
            return new ReplayTimes(steps, fullUs, recUs);
        } finally {
            for (DeviceBuffer b : sets) {
                b.close();
            }
        }
    }

    private ShapePlan plan(int steps, int batch) {
        if (plan != null && plan.steps == steps && plan.batch == batch) {
            return plan;
        }
        if (plan != null) {
            plan.close();
            plan = null;
        }
        plan = new ShapePlan(steps, batch);
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
        // API, but not validated on a GPU. The live ShapePlan is an inner class (it holds the engine), so
        // a Cleaner would also need the plan's resources moved into a holder that does not.
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        if (plan != null) {
            try {
                plan.close();
            } catch (RuntimeException e) {
                first = e;
            }
            plan = null;
        }
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException re ? re : new SprnnException(e.getMessage(), e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Everything that depends on (T, B): buffers, plans, kernel, graphs. */
    private final class ShapePlan implements AutoCloseable {
        final int steps, batch;
        final Deque<AutoCloseable> res = new ArrayDeque<>();
        final DeviceBuffer x;        // [T][B][I] elem: layer 0's input
        final DeviceBuffer h0f;      // [L][B][H] fp32
        final DeviceBuffer h0e;      // [L][B][H] elem (GEMM operand at t=0; = h0f for fp32)
        final DeviceBuffer h0hb;     // [L][H][B] elem (SpMM operand at t=0), cuda-spmm only
        final DeviceBuffer c0;       // [L][B][H] fp32, LSTM only
        final PinnedBuffer staging;  // page-locked host memory for every upload and download of a run (one at a time)
        final List<LayerBuffers> lb = new ArrayList<>();
        final CudaModule.CudaKernel cellUpdate; // null for the fused relu path
        final CellUpdateSpec spec;
        final String details;
        CudaGraph graphFull, graphProjection, graphRecurrent;

        ShapePlan(int steps, int batch) {
            this.steps = steps;
            this.batch = batch;
            try {
                long bh = (long) batch * hidden;
                x = alloc((long) steps * batch * weights.get(0).inputSize() * elem.bytes, "input x");
                h0f = alloc(layers * bh * 4, "h0 fp32");
                h0e = elem == ElementType.FP32 ? h0f : kind == Kind.GEMM ? alloc(layers * bh * elem.bytes, "h0 operand") : null;
                h0hb = kind == Kind.SPMM ? alloc(layers * bh * elem.bytes, "h0 operand [H][B]") : null;
                c0 = model.cell().hasCellState() ? alloc(layers * bh * 4, "c0") : null;
                long stagingBytes = Math.max(x.bytes(), Math.max((long) steps * bh * 4, layers * bh * 4));
                staging = ctx.allocatePinned(stagingBytes, "host staging (T=" + steps + ", B=" + batch + ")");
                res.push(staging);
                StringBuilder info = new StringBuilder(elem.id());
                for (int k = 0; k < layers; k++) {
                    // layer 0's tuning picks the SpMM output precision; the other layers (same shape) follow it
                    LayerBuffers l = new LayerBuffers(k, k == 0 ? null : lb.get(0).productType);
                    lb.add(l);
                    if (k == 0) {
                        info.append(", ").append(l.tuning);
                    }
                }
                if (!fusedRelu) {
                    spec = new CellUpdateSpec(model.cell(), hidden, batch, kind == Kind.SPMM, lb.get(0).productType, elem,
                            elem != ElementType.FP32, kind == Kind.SPMM);
                    byte[] cubin = compiler.compile(CellUpdateSpec.SOURCE, spec.kernelName(), spec.defines(), ctx.info().arch());
                    CudaModule module = ctx.loadModule(cubin, spec.kernelName());
                    res.push(module);
                    cellUpdate = module.kernel(CellUpdateSpec.SYMBOL);
                } else {
                    spec = null;
                    cellUpdate = null;
                }
                details = info.toString();
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        DeviceBuffer alloc(long bytes, String what) {
            DeviceBuffer b = ctx.allocate(bytes, what + " (T=" + steps + ", B=" + batch + ")");
            res.push(b);
            return b;
        }

        /** One layer's per-shape buffers and product plans. */
        final class LayerBuffers {
            final int k;
            final DeviceBuffer xproj;    // fused: [T][B][H] elem (W_ih x + b_ih + b_hh); else [T][B][G*H] fp32 (W_ih x)
            final DeviceBuffer hSeq;     // [T][B][H] elem: h_t in operand precision (GEMM operand, next layer's input)
            final DeviceBuffer hSeq32;   // [T][B][H] fp32 (= hSeq for fp32), null on the fused path
            final DeviceBuffer product;  // W_hh·h: [B][G*H] fp32 (GEMM) or [G*H][B] fp32 (SpMM); null when fused
            final DeviceBuffer operandHb;// [H][B] elem: h_{t-1} for the SpMM, cuda-spmm only
            final DeviceBuffer cState;   // [B][H] fp32, LSTM only
            final GemmPlan projection, recurrentGemm;
            final SpmmPlan recurrentSpmm;
            final ElementType productType; // precision of W_hh·h in `product`: fp32, or elem when the SpMM is faster so
            final String tuning;

            LayerBuffers(int k, ElementType fixedProductType) {
                this.k = k;
                LayerWeights w = weights.get(k);
                int gh = gates * hidden;
                long tb = (long) steps * batch;
                xproj = fusedRelu ? alloc(tb * hidden * elem.bytes, "xproj") : alloc(tb * gh * 4, "xproj");
                hSeq = alloc(tb * hidden * elem.bytes, "h sequence");
                hSeq32 = fusedRelu ? null : elem == ElementType.FP32 ? hSeq : alloc(tb * hidden * 4, "h sequence fp32");
                product = fusedRelu ? null : alloc((long) batch * gh * 4, "W_hh h");
                operandHb = kind == Kind.SPMM ? alloc((long) hidden * batch * elem.bytes, "h operand [H][B]") : null;
                cState = model.cell().hasCellState() ? alloc((long) batch * hidden * 4, "c state") : null;
                int cd = fusedRelu ? elem.cudaType : CublasLt.CUDA_R_32F;
                projection = new GemmPlan(ctx, lt, new GemmPlan.Spec(gh, (int) tb, w.inputSize(), true, w.inputSize(),
                        w.inputSize(), gh, elem.cudaType, cd, fusedRelu ? CublasLt.EPILOGUE_BIAS : CublasLt.EPILOGUE_DEFAULT, 0f, 256),
                        fusedRelu ? w.biasSum().ptr() : 0L, workspace, 1);
                res.push(projection);
                if (kind == Kind.GEMM) {
                    recurrentGemm = new GemmPlan(ctx, lt, new GemmPlan.Spec(gh, batch, hidden, true, hidden, hidden, gh,
                            elem.cudaType, cd, fusedRelu ? CublasLt.EPILOGUE_RELU : CublasLt.EPILOGUE_DEFAULT,
                            fusedRelu ? 1f : 0f, GemmPlan.alignmentOf((long) batch * hidden * elem.bytes)), 0L, workspace, 16);
                    res.push(recurrentGemm);
                    recurrentSpmm = null;
                    productType = ElementType.FP32;
                    long c = fusedRelu ? xproj.ptr() : product.ptr();
                    long d = fusedRelu ? hSeq.ptr() : product.ptr();
                    double us = recurrentGemm.selectFastest(stream, w.wHh().ptr(), hSeq.ptr(), c, d, TUNING_REPS);
                    tuning = String.format("cuBLASLt %s: fastest of %d algorithms timed in a CUDA graph, %.2f µs per product",
                            fusedRelu ? "GEMM + ReLU epilogue" : "GEMM", recurrentGemm.candidateCount(), us);
                } else {
                    recurrentGemm = null;
                    List<ElementType> outputs = fixedProductType != null ? List.of(fixedProductType)
                            : elem == ElementType.FP32 ? List.of(ElementType.FP32) : List.of(ElementType.FP32, elem);
                    SpmmPlan best = null;
                    ElementType bestType = null;
                    double bestUs = Double.MAX_VALUE;
                    StringBuilder sb = new StringBuilder();
                    RuntimeException lastError = null;
                    for (ElementType out : outputs) {
                        SpmmPlan cand = new SpmmPlan(ctx, sp, gh, batch, hidden, w.nnz(), w.csrOffsets().ptr(),
                                w.csrColumns().ptr(), w.csrValues().ptr(), elem.cudaType, out.cudaType, operandHb.ptr(),
                                product.ptr());
                        Map<String, Double> times;
                        try {
                            times = cand.selectFastest(stream, operandHb.ptr(), product.ptr(), TUNING_REPS);
                        } catch (RuntimeException e) {
                            cand.close();
                            lastError = e;
                            continue;
                        }
                        sb.append(sb.length() == 0 ? "" : ";").append(" ").append(out.id()).append(" out:");
                        times.forEach((n, us) -> sb.append(String.format(" %s %.2f", n, us)));
                        double us = times.get(cand.algorithm());
                        if (us < bestUs) {
                            if (best != null) {
                                best.close();
                            }
                            best = cand;
                            bestType = out;
                            bestUs = us;
                        } else {
                            cand.close();
                        }
                    }
                    if (best == null) {
                        throw lastError;
                    }
                    recurrentSpmm = best;
                    productType = bestType;
                    res.push(recurrentSpmm);
                    tuning = String.format("cuSPARSE SpMM %s, %s output, %.2f µs per product (timed in a CUDA graph, µs:%s)",
                            best.algorithm(), bestType.id(), bestUs, sb);
                }
                stream.synchronize();
            }

            /** Layer input, {@code [T][B][I]} elem. */
            long input() {
                return k == 0 ? x.ptr() : lb.get(k - 1).hSeq.ptr();
            }

            /** Queues this layer's work on the stream (inside a capture). */
            void enqueue(boolean withProjection, boolean withRecurrence) {
                LayerWeights w = weights.get(k);
                int gh = gates * hidden;
                long bh = (long) batch * hidden;
                if (withProjection) {
                    projection.run(stream, w.wIh().ptr(), input(), xproj.ptr(), xproj.ptr());
                }
                if (!withRecurrence) {
                    return;
                }
                if (operandHb != null) {
                    operandHb.copyFrom(h0hb.ptr(k * bh * elem.bytes), 0, bh * elem.bytes, stream);
                }
                if (cState != null) {
                    cState.copyFrom(c0.ptr(k * bh * 4), 0, bh * 4, stream);
                }
                for (int t = 0; t < steps; t++) {
                    long prevElem = t == 0 ? h0e == null ? 0 : h0e.ptr(k * bh * elem.bytes) : hSeq.ptr((t - 1) * bh * elem.bytes);
                    if (fusedRelu) {
                        recurrentGemm.run(stream, w.wHh().ptr(), prevElem, xproj.ptr(t * bh * elem.bytes),
                                hSeq.ptr(t * bh * elem.bytes));
                        continue;
                    }
                    if (recurrentGemm != null) {
                        recurrentGemm.run(stream, w.wHh().ptr(), prevElem, product.ptr(), product.ptr());
                    } else {
                        recurrentSpmm.run(operandHb.ptr(), product.ptr());
                    }
                    long prev32 = t == 0 ? h0f.ptr(k * bh * 4) : hSeq32.ptr((t - 1) * bh * 4);
                    cellUpdate.launch(stream, spec.grid(), CellUpdateSpec.BLOCK, 0,
                            xproj.ptr((long) t * batch * gh * 4), product, w.bIh(), w.bHh(), prev32,
                            cState, hSeq32.ptr(t * bh * 4),
                            elem != ElementType.FP32 ? (Object) hSeq.ptr(t * bh * elem.bytes) : null,
                            operandHb);
                }
            }

            /** The buffer holding h_t in fp32 (or elem on the fused path) and its element type. */
            DeviceBuffer output() {
                return fusedRelu ? hSeq : hSeq32;
            }
        }

        CudaGraph graph() {
            if (graphFull == null) {
                graphFull = capture(true, true);
            }
            return graphFull;
        }

        CudaGraph projectionGraph() {
            if (graphProjection == null) {
                graphProjection = stream.capture(() -> lb.get(0).enqueue(true, false));
                res.push(graphProjection);
            }
            return graphProjection;
        }

        CudaGraph recurrentGraph() {
            if (graphRecurrent == null) {
                graphRecurrent = capture(false, true);
            }
            return graphRecurrent;
        }

        private CudaGraph capture(boolean projection0, boolean rest) {
            CudaGraph g = stream.capture(() -> {
                for (LayerBuffers l : lb) {
                    l.enqueue(l.k > 0 || projection0, rest);
                }
            });
            res.push(g);
            return g;
        }

        /** The first {@code bytes} of the staging buffer. */
        MemorySegment stage(long bytes) {
            return staging.segment().asSlice(0, bytes);
        }

        void uploadInputs(Tensor input, Tensor h0, Tensor c0t) {
            long bh = (long) batch * hidden;
            double[] xv = input.data();
            MemorySegment xs = stage((long) xv.length * elem.bytes);
            elem.putAll(xs, xv);
            x.upload(xs, 0, stream);
            double[] hv = h0 == null ? new double[(int) (layers * bh)] : h0.data();
            MemorySegment hf = stage(hv.length * 4L);
            ElementType.FP32.putAll(hf, hv);
            h0f.upload(hf, 0, stream);
            if (h0e != null && h0e != h0f) {
                MemorySegment he = stage(hv.length * (long) elem.bytes);
                elem.putAll(he, hv);
                h0e.upload(he, 0, stream);
            }
            if (h0hb != null) {
                double[] t = new double[hv.length]; // [L][H][B]
                for (int k = 0; k < layers; k++) {
                    for (int b = 0; b < batch; b++) {
                        for (int j = 0; j < hidden; j++) {
                            t[(int) (k * bh + (long) j * batch + b)] = hv[(int) (k * bh + (long) b * hidden + j)];
                        }
                    }
                }
                MemorySegment ht = stage(t.length * (long) elem.bytes);
                elem.putAll(ht, t);
                h0hb.upload(ht, 0, stream);
            }
            if (c0 != null) {
                double[] cv = c0t == null ? new double[(int) (layers * bh)] : c0t.data();
                MemorySegment cs = stage(cv.length * 4L);
                ElementType.FP32.putAll(cs, cv);
                c0.upload(cs, 0, stream);
            }
        }

        /** Fills every buffer a replay must overwrite with NaN (0xFF bytes), so unwritten elements show. */
        void poisonOutputs() {
            for (LayerBuffers l : lb) {
                l.hSeq.fill((byte) 0xFF, stream);
                if (l.hSeq32 != null && l.hSeq32 != l.hSeq) {
                    l.hSeq32.fill((byte) 0xFF, stream);
                }
                if (l.cState != null) {
                    l.cState.fill((byte) 0xFF, stream);
                }
                if (l.product != null) {
                    l.product.fill((byte) 0xFF, stream);
                }
            }
        }

        RnnOutput download() {
            long bh = (long) batch * hidden;
            ElementType outType = fusedRelu ? elem : ElementType.FP32;
            MemorySegment seg = stage((long) steps * bh * outType.bytes);
            lb.get(layers - 1).output().download(seg, 0, stream);
            double[] out = new double[(int) (steps * bh)];
            outType.getAll(seg, out);
            double[] hN = new double[(int) (layers * bh)];
            double[] cN = model.cell().hasCellState() ? new double[hN.length] : null;
            double[] one = new double[(int) bh];
            for (int k = 0; k < layers; k++) {
                MemorySegment last = stage(bh * outType.bytes);
                lb.get(k).output().download(last, (steps - 1) * bh * outType.bytes, stream);
                outType.getAll(last, one);
                System.arraycopy(one, 0, hN, (int) (k * bh), (int) bh);
                if (cN != null) {
                    MemorySegment c = stage(bh * 4);
                    lb.get(k).cState.download(c, 0, stream);
                    ElementType.FP32.getAll(c, one);
                    System.arraycopy(one, 0, cN, (int) (k * bh), (int) bh);
                }
            }
            return new RnnOutput(new Tensor(new int[] {steps, batch, hidden}, out),
                    new Tensor(new int[] {layers, batch, hidden}, hN),
                    cN == null ? null : new Tensor(new int[] {layers, batch, hidden}, cN));
        }

        @Override
        public void close() {
            RuntimeException first = null;
            while (!res.isEmpty()) {
                try {
                    res.pop().close();
                } catch (Exception e) {
                    if (first == null) {
                        first = e instanceof RuntimeException re ? re : new SprnnException(e.getMessage(), e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
