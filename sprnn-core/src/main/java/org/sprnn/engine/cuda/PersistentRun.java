// PersistentRun.java — one forward pass of the sparse persistent engine: layer by layer, the input projection (one
// cuBLASLt GEMM), then the persistent kernel in launches of at most Variant.stepsPerLaunch steps, each checked for
// the fault record the kernel leaves when a bounded spin gives up; or, timed, layer 0's launches between CUDA events.
package org.sprnn.engine.cuda;

import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.engine.RnnOutput;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEvent;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;

/**
 * A run of {@code input} (and {@code h0}, {@code c0}, zeros where null) on the engine's workspace for its shape. The
 * inputs are uploaded when the run is made; {@link #forward} launches; {@link #result} downloads. Closing a run frees
 * nothing: the workspace stays with the engine for the next run of the same shape.
 */
class PersistentRun implements AutoCloseable {
    private final String name; // the engine's

    private final RnnModel model;
    private final CudaContext ctx;
    private final CudaStream stream;
    private final PersistentLayers layers;
    private final SparsePersistentEngine.Variant variant;
    private final PersistentWorkspace w;
    private final int steps;
    private final int batch;
    private final int hidden;
    private final int gates;
    private final List<PersistentLayers.LayerKernel> ks;
    private final List<StepChunks.Chunk> chunks;
    private final boolean withLengths; // the kernels' SPRNN_LENGTHS variant, lengths in w.lengths
    private final SessionBuffers session; // a session's state and fault records in place of the workspace's, or null
    private int lastLayerSeq;

    /**
     * Where a session's run ({@link PersistentSession}) reads and writes the states, {@code [L][B][H]} fp32 each, and
     * leaves its fault records ({@code [L]} records, one per layer, so that a fault names its layer after the whole
     * run): in place of the workspace's {@code h0s}, {@code c0s}, {@code hN}, {@code cN} and {@code fault}.
     */
    record SessionBuffers(long hIn, long cIn, long hOut, long cOut, DeviceBuffer faults, Lean lean) {
        SessionBuffers(long hIn, long cIn, long hOut, long cOut, DeviceBuffer faults) {
            this(hIn, cIn, hOut, cOut, faults, null);
        }
    }

    /**
     * A lean session run ({@link PersistentSession}'s {@code lean} kind): layer 0's projection reads the chunk at device
     * address {@code x} and the last layer writes its outputs at {@code y}, and the run queues no clearing of the fault
     * records (the session's faults kernel zeroes them after each step) and no poisoning of the outputs (a fault is read
     * from the records, not from unwritten outputs).
     */
    record Lean(long x, long y) {
    }

    PersistentRun(SparsePersistentEngine engine, Tensor input, Tensor h0, Tensor c0) {
        this(engine, input, h0, c0, null);
    }

    /**
     * A run with per-sequence lengths ({@code lengths}, one per batch element, 1..T; null for none): every layer runs
     * in the same launches as without them, in the kernel's lengths variant ({@link KernelSpec#withLengths()}). The
     * caller has zeroed the input's padding (steps at or after a sequence's length), which the run's input projection
     * reads.
     */
    PersistentRun(SparsePersistentEngine engine, Tensor input, Tensor h0, Tensor c0, int[] lengths) {
        this(engine, input.dim(0), input.dim(1), null, lengths != null, null);
        int n = model.numLayers() * batch * hidden;
        Transfers.perCall(stream).uploadFloats(w.x, input.data());
        Transfers.perCall(stream).uploadFloats(w.h0s, h0 == null ? new double[n] : h0.data());
        Transfers.perCall(stream).uploadFloats(w.c0s, c0 == null ? new double[n] : c0.data());
        if (withLengths) {
            Transfers.perCall(stream).uploadInts(w.lengths, lengths);
        }
        w.exchange.fill((byte) 0, stream);
        w.fault.fill((byte) 0, stream); // no fault left over from an earlier run of this workspace
    }

    /**
     * A session's run of {@code steps} steps (one launch a layer) on the session's own workspace {@code w}: nothing
     * is uploaded or launched here; {@link #enqueueSession} queues the whole run (to be captured into a graph).
     */
    PersistentRun(SparsePersistentEngine engine, PersistentWorkspace w, int steps, int batch, SessionBuffers session) {
        this(engine, steps, batch, w, false, session);
        if (chunks.size() != 1) {
            throw new SprnnException(name + ": a session's run of " + steps + " steps is more than one launch a layer");
        }
    }

    /** The fields of a run of {@code steps x batch} on {@code w}, or on the engine's workspace for that shape (null). */
    private PersistentRun(SparsePersistentEngine engine, int steps, int batch, PersistentWorkspace w, boolean withLengths,
                          SessionBuffers session) {
        name = engine.name();
        model = engine.model();
        ctx = engine.context();
        stream = engine.stream();
        layers = engine.layers();
        variant = engine.variant();
        this.steps = steps;
        this.batch = batch;
        hidden = model.hiddenSize();
        gates = model.cell().gates();
        ks = layers.kernels(batch);
        chunks = StepChunks.of(steps, variant.stepsPerLaunch());
        this.w = w != null ? w : engine.workspace(steps, batch, ks, StepChunks.longest(chunks), chunks.size());
        this.withLengths = withLengths;
        this.session = session;
    }

    /** Builds every layer's input projection plan for this run's shape, so that none is built while being captured. */
    void prepareSession() {
        int inputSize = model.layers().get(0).inputSize();
        for (int k = 0; k < model.numLayers(); k++) {
            layers.projection(k, inputSize, steps * batch);
            inputSize = hidden;
        }
    }

    /**
     * Queues a session's whole run on the stream, waiting for nothing (so that it can be captured): the fault records and
     * exchange cleared, then per layer the input projection, the outputs poisoned (NaN), and the one launch, its states
     * read from and written to the {@link SessionBuffers}. The input must be in {@code w.x} when it runs; the last layer's
     * outputs are in {@link #lastOutputs()} after it.
     */
    void enqueueSession() {
        Lean lean = session.lean();
        if (lean == null) {
            session.faults().fill((byte) 0, stream);
        }
        if (lean == null || ks.get(0).plan().spec().exchange() != ExchangeMode.TIMESTAMPS) {
            w.exchange.fill((byte) 0, stream); // (a timestamped layer 0 fills it with ones before its launch)
        }
        long in = lean == null ? w.x.ptr() : lean.x();
        int inputSize = model.layers().get(0).inputSize();
        int n = model.numLayers();
        for (int k = 0; k < n; k++) {
            layers.projection(k, inputSize, steps * batch).run(stream, layers.wIh(k).ptr(), in, w.xproj.ptr(), w.xproj.ptr());
            DeviceBuffer out = w.seq[k % 2];
            long outPtr = lean != null && k == n - 1 ? lean.y() : out.ptr();
            if (lean == null) {
                out.fill((byte) 0xFF, stream);
            }
            w.counter.fill((byte) 0, stream);
            launchChunk(ks.get(k), k, outPtr, 0);
            in = out.ptr();
            inputSize = hidden;
            lastLayerSeq = k % 2;
        }
    }

    /** The buffer holding the last layer's outputs after a run. */
    DeviceBuffer lastOutputs() {
        return w.seq[lastLayerSeq];
    }

    /**
     * Runs every layer; with {@code timed != null}, layer 0 only, {@code warmups} untimed launches then one
     * timed launch per element of {@code timed} (ms).
     */
    void forward(int warmups, double[] timed) {
        long in = w.x.ptr();
        int inputSize = model.layers().get(0).inputSize();
        int n = timed == null ? model.numLayers() : 1;
        for (int k = 0; k < n; k++) {
            PersistentLayers.LayerKernel lk = ks.get(k);
            layers.projection(k, inputSize, steps * batch).run(stream, layers.wIh(k).ptr(), in, w.xproj.ptr(), w.xproj.ptr());
            DeviceBuffer out = w.seq[k % 2];
            if (timed == null) {
                launch(k, lk, out);
            } else {
                for (int i = 0; i < warmups; i++) {
                    launch(k, lk, out);
                }
                // LAUNCHES_PER_SAMPLE launches back to back between two events: the host's launch overhead
                // (FFM marshalling, the driver) overlaps the previous launch instead of sitting inside the timing
                try (CudaEvent start = ctx.createEvent(); CudaEvent stop = ctx.createEvent()) {
                    for (int i = 0; i < timed.length; i++) {
                        start.record(stream);
                        for (int l = 0; l < SparsePersistentEngine.LAUNCHES_PER_SAMPLE; l++) {
                            w.counter.fill((byte) 0, stream);
                            launchOnly(lk, k, out);
                        }
                        stop.record(stream);
                        stop.synchronize();
                        timed[i] = stop.millisSince(start) / SparsePersistentEngine.LAUNCHES_PER_SAMPLE;
                        checkFault(k, chunks.size() == 1 ? chunks.get(0) : new StepChunks.Chunk(0, steps)); // step within its launch
                    }
                }
            }
            in = out.ptr();
            inputSize = hidden;
            lastLayerSeq = k % 2;
        }
    }

    /**
     * Layer 0's input projection and one checked run of its launches: what {@link #launchLayer0} then repeats (the
     * timing of several engines' launches together, {@link SparsePersistentEngine#PAIR_TIMER}).
     */
    void prepareLayer0() {
        layers.projection(0, model.layers().get(0).inputSize(), steps * batch).run(stream, layers.wIh(0).ptr(), w.x.ptr(), w.xproj.ptr(),
                w.xproj.ptr());
        launch(0, ks.get(0), w.seq[0]);
    }

    /** Layer 0's launches once more, back to back on this run's stream, unchecked (after {@link #prepareLayer0}). */
    void launchLayer0() {
        w.counter.fill((byte) 0, stream);
        launchOnly(ks.get(0), 0, w.seq[0]);
    }

    /** Throws if a launch of layer 0 since the last check left a fault record (after the stream has finished them). */
    void checkLayer0() {
        checkFault(0, chunks.size() == 1 ? chunks.get(0) : new StepChunks.Chunk(0, steps));
    }

    CudaStream stream() {
        return stream;
    }

    /** Runs layer {@code k}, every launch of it checked for a fault record. */
    private void launch(int k, PersistentLayers.LayerKernel lk, DeviceBuffer out) {
        out.fill((byte) 0xFF, stream); // NaN: unwritten outputs show
        for (int i = 0; i < chunks.size(); i++) {
            w.counter.fill((byte) 0, stream);
            w.fault.fill((byte) 0, stream);
            launchChunk(lk, k, out, i);
            try {
                stream.synchronize();
            } catch (SprnnException e) {
                throw new SprnnException(name + ": layer " + k + ": the kernel failed at steps " + chunks.get(i).first() + ".."
                        + (chunks.get(i).first() + chunks.get(i).steps() - 1) + " (" + e.getMessage() + ")"
                        + (SparsePersistentEngine.contextLost(e) ? "; the CUDA context is lost for this process: restart it" : ""));
            }
            checkFault(k, chunks.get(i));
        }
    }

    /** Every launch of layer {@code k} back to back, unchecked (the timed path). */
    private void launchOnly(PersistentLayers.LayerKernel lk, int k, DeviceBuffer out) {
        for (int i = 0; i < chunks.size(); i++) {
            if (i > 0) {
                w.counter.fill((byte) 0, stream);
            }
            launchChunk(lk, k, out, i);
        }
    }

    /** One launch: steps {@code [first, first + steps)} of layer {@code k}, state from the previous launch's. */
    private void launchChunk(PersistentLayers.LayerKernel lk, int k, DeviceBuffer out, int i) {
        launchChunk(lk, k, out.ptr(), i);
    }

    /** {@link #launchChunk(PersistentLayers.LayerKernel, int, DeviceBuffer, int)} writing its outputs at device address {@code out}. */
    private void launchChunk(PersistentLayers.LayerKernel lk, int k, long out, int i) {
        KernelSpec s = lk.plan().spec();
        StepChunks.Chunk c = chunks.get(i);
        long state = (long) k * batch * hidden * 4;
        long bh = (long) batch * hidden * 4;
        long h0s = session == null ? w.h0s.ptr() : session.hIn(), c0s = session == null ? w.c0s.ptr() : session.cIn();
        long hN = session == null ? w.hN.ptr() : session.hOut(), cN = session == null ? w.cN.ptr() : session.cOut();
        long hIn = i == 0 ? h0s + state : w.carry[(i - 1) & 1].ptr(0);
        long cIn = i == 0 ? c0s + state : w.carry[(i - 1) & 1].ptr(bh);
        boolean last = i == chunks.size() - 1;
        long hOut = last ? hN + state : w.carry[i & 1].ptr(0);
        long cOut = last ? cN + state : w.carry[i & 1].ptr(bh);
        long fault = session == null ? w.fault.ptr() : session.faults().ptr(4L * KernelFault.RECORD_INTS * k);
        long xOff = (long) c.first() * batch * gates * hidden * 4;
        long outOff = (long) c.first() * batch * hidden * 4;
        Object[] args = {lk.words(), lk.rowEnds(), lk.warpUnits(), lk.needed(), w.xproj.ptr(xOff), layers.bHh(k), hIn, cIn,
                out + outOff, hOut, cOut, w.exchange, w.counter, fault, c.steps(), variant.spinTimeoutNs()};
        CudaModule.CudaKernel kernel = lk.kernel();
        if (withLengths) { // the lengths variant: same plan and shared memory, the lengths and the launch's first step last
            kernel = layers.lengthsKernel(batch, k);
            args = java.util.Arrays.copyOf(args, args.length + 2);
            args[args.length - 2] = w.lengths;
            args[args.length - 1] = c.first();
        }
        int smem = (int) s.sharedMemoryBytes();
        if (s.exchange() == ExchangeMode.TIMESTAMPS) {
            w.exchange.fill((byte) 0xFF, stream); // every slot empty (all ones) before the launch writes its steps
        }
        if (s.exchange() == ExchangeMode.CLUSTER) {
            kernel.launch(stream, s.ctas(), s.threadsPerCta(), smem, args); // cluster dims are compiled in
        } else {
            kernel.launchCooperative(stream, s.ctas(), s.threadsPerCta(), smem, args);
        }
    }

    private void checkFault(int k, StepChunks.Chunk c) {
        SprnnException e = KernelFault.exception(Transfers.perCall(stream).downloadInts(w.fault, KernelFault.RECORD_INTS), name, k,
                c.first(), variant.spinTimeoutNs());
        if (e != null) {
            throw e;
        }
    }

    /** The outputs of the last {@link #forward} of every layer. */
    RnnOutput result() {
        int n = model.numLayers();
        float[] out = Transfers.perCall(stream).downloadFloats(w.seq[lastLayerSeq], (long) steps * batch * hidden);
        float[] h = Transfers.perCall(stream).downloadFloats(w.hN, (long) n * batch * hidden);
        Tensor c = null;
        if (model.cell().hasCellState()) {
            c = Tensor.ofFloats(Transfers.perCall(stream).downloadFloats(w.cN, (long) n * batch * hidden), n, batch, hidden);
        }
        return new RnnOutput(Tensor.ofFloats(out, steps, batch, hidden), Tensor.ofFloats(h, n, batch, hidden), c);
    }

    /** Frees nothing: the workspace belongs to the engine. */
    @Override
    public void close() {
    }
}
