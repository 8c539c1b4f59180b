// PersistentSession.java — a streaming session of the sparse persistent engine whose states never leave the device:
// each chunk length's whole step (the input copied in, every layer's projection and persistent launch, the outputs
// copied back) is one captured CUDA graph, so a step from Java is one graph launch and one wait.
package org.sprnn.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import org.sprnn.SprnnException;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.engine.Session;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.CudaGraph;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.PinnedBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * A {@link Session} of {@link SparsePersistentEngine} that keeps h (and c) on the device: two state buffers
 * {@code [2][L][B][H]} fp32 (h, then c) used in turn, a step reading one and writing the other, so a step that fails
 * leaves the states as they were. For each chunk length {@code t} (the last one used is kept) the session owns a workspace
 * and two graphs, one per state buffer read, each capturing: the chunk's copy from page-locked host memory, the fault
 * records and exchange cleared, per layer the input projection (cuBLASLt) and the one persistent launch, and the copies of
 * the last layer's outputs, both states and the fault records back to page-locked memory. A step writes the chunk to
 * host memory, launches the graph, waits, checks the fault records (a kernel that gave up names its layer, CTA and step)
 * and the outputs' range as {@link SparsePersistentEngine#run} does, and reads the outputs.
 *
 * <p>A chunk longer than the engine's steps per launch ({@link SparsePersistentEngine#STEPS_PER_LAUNCH}: more than one launch a layer) runs through
 * the engine's whole run from the states downloaded, then uploads the new states: exact, slower, and rare for a stream.
 */
final class PersistentSession implements Session {
    /**
     * What a step's graph copies ({@link SparsePersistentEngine#SESSION_PROPERTY}). {@code DEVICE}: the chunk in and the
     * outputs, both states and the fault records out, with the fault records cleared and the outputs poisoned on the
     * device, every step. {@code LEAN}: the chunk in and the outputs out, nothing else: the fault records come back
     * through a one-CTA kernel that writes them to page-locked host memory and zeroes them for the next step, the states
     * only when asked ({@link #state}). Lean was faster at every point measured (an H100, 2026-12-07,
     * results/suite/session15: 32.5 against 51.1 µs a one-step call at 1152 / 10% / batch 1, 38.5 against 50.6 at
     * 2304, 43.8 against 63.4 and 78.2 against 123.4 at batch 4). A third kind, the chunk read and the outputs written by
     * the kernels in place in mapped host memory (no copies), measured slower still than the device kind (56-204 µs:
     * the projection's and the kernel's reads and writes across the bus) and was dropped.
     */
    enum Kind {
        DEVICE, LEAN;

        /** The kind a session property value names: device or lean. */
        static Kind of(String name) {
            return valueOf(name.toUpperCase(java.util.Locale.ROOT));
        }
    }

    private final SparsePersistentEngine engine;
    private final Kind kind;
    private final RnnModel model;
    private final int batch;
    private final int layers;
    private final int hidden;
    private final boolean lstm;
    private final Resources owned = new Resources();
    private final DeviceBuffer[] states; // two [2][L][B][H] fp32: h at 0, c at L*B*H
    private final DeviceBuffer faults;   // [L] fault records
    private int current;                 // which of states holds the current states
    private Shape shape;                 // the last chunk length's workspace, graphs and host buffers, or null
    private Tensor lastOutput;
    private long steps;
    private Tensor hNow;                 // the current states as the last step left them (copied back with its outputs)
    private Tensor cNow;                 // or, before any step, the initial ones
    private boolean statesOnDevice;      // lean kind: hNow and cNow are older than the device's states[current]
    private boolean closed;

    /** The buffers and graphs of one chunk length. */
    private final class Shape implements AutoCloseable {
        final int t;
        final Resources res = new Resources();
        final PersistentWorkspace w;
        final PinnedBuffer in;      // [t][B][I] fp32
        final PinnedBuffer out;     // [t][B][H] fp32, then (device kind) [2][L][B][H] states, then the fault records
        final PinnedBuffer faultsOut; // lean kind: [L] fault records, written by the faults kernel; else null
        final CudaGraph[] graphs = new CudaGraph[2]; // [which state buffer is read]

        Shape(int t) {
            this.t = t;
            try {
                var ks = engine.layers().kernels(batch);
                w = res.add(new PersistentWorkspace(engine.context(), t, batch, model.inputSize(), hidden, model.cell().gates(), layers,
                        ks, t, 1));
                in = res.add(engine.context().allocatePinned(4L * t * batch * model.inputSize(), "session input"));
                if (kind != Kind.DEVICE) {
                    out = res.add(engine.context().allocatePinned(outBytes(), "session outputs"));
                    faultsOut = res.add(engine.context().allocatePinned(faultBytes(), "session fault records"));
                    buildLean(ks.get(0).plan().spec().smArch());
                    return;
                }
                faultsOut = null;
                out = res.add(engine.context().allocatePinned(outBytes() + stateBytes() + faultBytes(), "session outputs"));
                for (int p = 0; p < 2; p++) {
                    int from = p;
                    PersistentRun run = new PersistentRun(engine, w, t, batch, new PersistentRun.SessionBuffers(states[from].ptr(),
                            states[from].ptr(cOffset()), states[1 - from].ptr(), states[1 - from].ptr(cOffset()), faults));
                    run.prepareSession(); // the projection plans now: nothing is built (allocated) while captured
                    if (p == current) { // one real run first, checked: a launch error is named here, not as a failed capture, and
                        // every kernel is loaded before the capture; it writes only the state buffer not holding the states
                        w.x.fill((byte) 0, engine.stream());
                        run.enqueueSession();
                        engine.stream().synchronize();
                        checkFaults(Transfers.perCall(engine.stream()).downloadInts(faults, (long) KernelFault.RECORD_INTS * layers), 0);
                    }
                    graphs[p] = res.add(engine.stream().capture(() -> {
                        w.x.uploadAsync(in.segment(), 0, engine.stream());
                        run.enqueueSession();
                        MemorySegment o = out.segment();
                        run.lastOutputs().downloadAsync(o.asSlice(0, outBytes()), 0, engine.stream());
                        states[1 - from].downloadAsync(o.asSlice(outBytes(), stateBytes()), 0, engine.stream());
                        faults.downloadAsync(o.asSlice(outBytes() + stateBytes(), faultBytes()), 0, engine.stream());
                    }));
                }
            } catch (RuntimeException | Error e) {
                res.closeAfter(e);
                throw e;
            }
        }

        /** The lean kind's two graphs, after one checked run (see {@link Kind}). */
        private void buildLean(int smArch) {
            var faultsKernel = engine.layers().sessionFaultsKernel(smArch);
            long x = w.x.ptr();
            DeviceBuffer lastSeq = w.seq[(layers - 1) % 2];
            long y = lastSeq.ptr();
            long faultsHost = faultsOut.devicePointer();
            int faultInts = KernelFault.RECORD_INTS * layers;
            for (int p = 0; p < 2; p++) {
                int from = p;
                PersistentRun run = new PersistentRun(engine, w, t, batch, new PersistentRun.SessionBuffers(states[from].ptr(),
                        states[from].ptr(cOffset()), states[1 - from].ptr(), states[1 - from].ptr(cOffset()), faults,
                        new PersistentRun.Lean(x, y)));
                run.prepareSession();
                Runnable step = () -> {
                    w.x.uploadAsync(in.segment(), 0, engine.stream());
                    run.enqueueSession();
                    faultsKernel.launch(engine.stream(), 1, 32, 0, faults, faultsHost, faultInts);
                    lastSeq.downloadAsync(out.segment(), 0, engine.stream());
                };
                if (p == current) { // one real run first, checked (see the device kind's)
                    in.segment().fill((byte) 0);
                    step.run();
                    engine.stream().synchronize();
                    checkFaults(faultsOut.segment().toArray(JAVA_INT), 0);
                }
                graphs[p] = res.add(engine.stream().capture(step));
            }
        }

        long outBytes() {
            return 4L * t * batch * hidden;
        }

        @Override
        public void close() {
            res.close();
        }
    }

    PersistentSession(SparsePersistentEngine engine, RnnModel model, int batch, Tensor h0, Tensor c0, Kind kind) {
        Tensor[] given = RunInputs.sessionStates(model, batch, h0, c0);
        Float32Range.requireFp16(given[0], engine.name()); // h travels between steps in fp16
        this.engine = engine;
        this.kind = kind;
        this.model = model;
        this.batch = batch;
        this.layers = model.numLayers();
        this.hidden = model.hiddenSize();
        this.lstm = model.cell().hasCellState();
        this.hNow = given[0];
        this.cNow = given[1];
        this.states = new DeviceBuffer[2];
        try {
            engine.context().makeCurrent();
            for (int i = 0; i < 2; i++) {
                states[i] = owned.add(engine.context().allocate(stateBytes(), "session states"));
            }
            faults = owned.add(engine.context().allocate(faultBytes(), "session fault records"));
            faults.fill((byte) 0, engine.stream()); // a lean step expects them clear (its faults kernel clears them after)
            uploadStates(given[0], given[1]);
        } catch (RuntimeException | Error e) {
            owned.closeAfter(e);
            throw e;
        }
    }

    private long stateBytes() {
        return 2L * layers * batch * hidden * 4;
    }

    private long cOffset() {
        return (long) layers * batch * hidden * 4;
    }

    private long faultBytes() {
        return 4L * KernelFault.RECORD_INTS * layers;
    }

    /** Writes {@code h} and {@code c} (null: zeros) to the current state buffer. */
    private void uploadStates(Tensor h, Tensor c) {
        Transfers.perCall(engine.stream()).uploadFloats(states[current], stateValues(h, c, layers * batch * hidden));
    }

    /** Half {@code which} (0: h, 1: c) of a state buffer's contents {@code s} ({@link #stateValues}) as {@code [L][B][H]}. */
    static Tensor stateTensor(float[] s, int which, int layers, int batch, int hidden) {
        int n = layers * batch * hidden;
        return Tensor.ofFloats(java.util.Arrays.copyOfRange(s, which * n, (which + 1) * n), layers, batch, hidden);
    }

    /** A state buffer's contents: {@code n} values of {@code h}, then {@code n} of {@code c} (null: zeros). */
    static double[] stateValues(Tensor h, Tensor c, int n) {
        double[] both = new double[2 * n];
        if (h != null) {
            System.arraycopy(h.data(), 0, both, 0, n);
        }
        if (c != null) {
            System.arraycopy(c.data(), 0, both, n, n);
        }
        return both;
    }

    @Override
    public int batch() {
        return batch;
    }

    @Override
    public synchronized long steps() {
        return steps;
    }

    @Override
    public synchronized Tensor step(Tensor chunk) {
        requireOpen();
        RunInputs.checkSessionChunk(chunk, batch);
        RunInputs.check(model, chunk, null, null);
        int t = chunk.dim(0);
        synchronized (engine) { // one step of the engine's sessions at a time: they share its stream, on which a step captures
            engine.requireOpen();
            engine.context().makeCurrent();
            try {
                Tensor y = t > engine.variant().stepsPerLaunch() ? longChunk(chunk) : kind == Kind.DEVICE ? graphStep(chunk, t)
                        : leanStep(chunk, t);
                lastOutput = y;
                steps += t;
                return y;
            } catch (CudaException e) {
                throw SparsePersistentEngine.sessionError(engine.name(), e);
            }
        }
    }

    /** The buffers and graphs of chunk length {@code t}, with the chunk written to its page-locked input. */
    private void shapeFor(Tensor chunk, int t) {
        if (shape == null || shape.t != t) {
            if (shape != null) {
                Shape old = shape;
                shape = null;
                old.close();
            }
            shape = new Shape(t);
        }
        MemorySegment in = shape.in.segment();
        double[] x = chunk.data();
        for (int i = 0; i < x.length; i++) {
            in.setAtIndex(JAVA_FLOAT, i, (float) x[i]);
        }
    }

    /** A lean step: one graph launch, then the fault records and outputs read from page-locked memory. */
    private Tensor leanStep(Tensor chunk, int t) {
        shapeFor(chunk, t);
        MemorySegment o = shape.out.segment();
        shape.graphs[current].launch(engine.stream());
        engine.stream().synchronize();
        checkFaults(shape.faultsOut.segment().toArray(JAVA_INT), (int) Math.min(Integer.MAX_VALUE, steps));
        Tensor out = Tensor.ofFloats(o.toArray(JAVA_FLOAT), t, batch, hidden);
        Float32Range.requireOutputInRange(out, layers);
        Float32Range.requireFp16Exchange(out, layers, engine.name());
        Float32Range.requireFp16Carry(out, layers, engine.name()); // the next step reads it in fp16
        current = 1 - current; // only now: a step that failed leaves the states as they were
        statesOnDevice = true;
        return out;
    }

    /** Reads the current states into hNow and cNow where a lean step left them on the device only. */
    private void syncStates() {
        if (!statesOnDevice) {
            return;
        }
        int n = layers * batch * hidden;
        float[] s = Transfers.perCall(engine.stream()).downloadFloats(states[current], 2L * n);
        Tensor h = stateTensor(s, 0, layers, batch, hidden);
        Tensor c = lstm ? stateTensor(s, 1, layers, batch, hidden) : null;
        Float32Range.requireStatesInRange(h, Float32Range.HIDDEN_STATE, (int) Math.min(Integer.MAX_VALUE, steps));
        if (c != null) {
            Float32Range.requireStatesInRange(c, Float32Range.CELL_STATE, (int) Math.min(Integer.MAX_VALUE, steps));
        }
        hNow = h;
        cNow = c;
        statesOnDevice = false;
    }

    /** One graph launch: the chunk in, every layer, the outputs, states and fault records out. */
    private Tensor graphStep(Tensor chunk, int t) {
        shapeFor(chunk, t);
        shape.graphs[current].launch(engine.stream());
        engine.stream().synchronize();
        MemorySegment o = shape.out.segment();
        // the step a fault names counts from the session's first
        checkFaults(o.asSlice(shape.outBytes() + stateBytes(), faultBytes()).toArray(JAVA_INT), (int) Math.min(Integer.MAX_VALUE, steps));
        float[] y = o.asSlice(0, shape.outBytes()).toArray(JAVA_FLOAT);
        float[] s = o.asSlice(shape.outBytes(), stateBytes()).toArray(JAVA_FLOAT);
        Tensor out = Tensor.ofFloats(y, t, batch, hidden);
        Tensor h = stateTensor(s, 0, layers, batch, hidden);
        Tensor c = lstm ? stateTensor(s, 1, layers, batch, hidden) : null;
        Float32Range.requireInRange(Float32Range.requireFp16Exchange(new RnnOutput(out, h, c), engine.name()));
        Float32Range.requireFp16Carry(out, layers, engine.name()); // the next step reads it in fp16
        current = 1 - current; // only now: a step that failed leaves the states as they were
        hNow = h;
        cNow = c;
        return out;
    }

    /** Throws the first fault {@code records} ({@code [L]} fault records) hold, its step counted from {@code firstStep}. */
    private void checkFaults(int[] records, int firstStep) {
        for (int k = 0; k < layers; k++) {
            SprnnException e = KernelFault.exception(java.util.Arrays.copyOfRange(records, k * KernelFault.RECORD_INTS,
                    (k + 1) * KernelFault.RECORD_INTS), engine.name(), k, firstStep, engine.variant().spinTimeoutNs());
            if (e != null) {
                throw e;
            }
        }
    }

    /** A chunk of more than one launch a layer: the engine's whole run from the current states, then the new states up. */
    private Tensor longChunk(Tensor chunk) {
        syncStates();
        RnnOutput r = engine.run(chunk, hNow, cNow);
        int was = current;
        current = 1 - current;
        try {
            uploadStates(r.hN(), r.cN());
        } catch (RuntimeException e) {
            current = was;
            throw e;
        }
        hNow = r.hN();
        cNow = r.cN();
        return r.output();
    }

    @Override
    public synchronized RnnOutput state() {
        requireOpen();
        synchronized (engine) {
            engine.requireOpen();
            engine.context().makeCurrent();
            syncStates();
        }
        // the states copied: the caller may write to them, and hNow / cNow are what the next step starts from
        return new RnnOutput(lastOutput, Tensor.copyOf(hNow), Tensor.copyOf(cNow));
    }

    private void requireOpen() {
        if (closed) {
            throw RunInputs.sessionClosed(steps);
        }
    }

    /** Frees the session's device and page-locked buffers and graphs; idempotent. The engine stays open. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        lastOutput = null;
        try {
            engine.context().makeCurrent();
            if (shape != null) {
                shape.close();
            }
        } finally {
            shape = null;
            try {
                owned.close();
            } finally {
                engine.sessionClosed(this);
            }
        }
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + " session of " + engine.name() + ", batch " + batch + ", " + steps + " steps" + (closed ? ", closed" : "");
    }
}
