// ResidentSession.java — a streaming session of the sparse persistent engine whose kernel stays resident between steps:
// one launch serves the steps the host posts through page-locked memory, so a step costs the step, its input
// projection and two trips across the bus, not a launch, a reload of the weights and a synchronize.
package org.sprnn.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Locale;
import org.sprnn.SprnnException;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.engine.Session;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.PinnedBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.RnnModel;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

/**
 * A {@link Session} of {@link SparsePersistentEngine} ({@code SPRNN_SESSION=resident}, one-layer models) whose kernel is
 * the layer's persistent kernel compiled resident ({@code SPRNN_RESIDENT}, grid barrier): launched once on the session's
 * own stream, it computes each step's {@code W_hh h} and then waits for the host to post the step. A step writes its
 * inputs into a ring in page-locked host memory ({@link #RING} slots), publishes the count of steps posted, and spins
 * (bounded) until every CTA's count of steps done reaches it; the kernel copies each step's input to the device,
 * computes its input projection itself (from {@code W_ih} rows it keeps in shared memory where they fit; no other
 * kernel can run beside it: it holds every SM), finishes the step and writes the outputs into a second ring in host
 * memory. The kernel leaves when no step comes for {@link #IDLE_PROPERTY} milliseconds (other work
 * on the GPU waits for that), when {@link #state} or {@link #close} asks it to, or after
 * {@code SPRNN_RESIDENT_MAX_STEPS} steps; it then leaves h (and c) in the session's state buffer, and the next step
 * launches it again from there.
 */
final class ResidentSession implements Session {
    /** Ring slots: a step call of more steps posts them in pieces of at most this many. */
    static final int RING = 64;
    /**
     * How long the resident kernel waits for a step before it leaves, in milliseconds (system property, else the
     * environment variable {@code SPRNN_RESIDENT_IDLE_MS}); default {@value #DEFAULT_IDLE_MS}.
     */
    static final String IDLE_PROPERTY = "sprnn.resident.idleMs";
    static final long DEFAULT_IDLE_MS = 20;

    /**
     * When the host first asks whether the kernel is still running while it waits for a step (it may have left, idle,
     * just before the step was posted), and how often after. Asked every 256 spins (about 13 µs), the resident steps
     * measured on the H100 had a median of 19 µs but a p90 of 83 (results/suite/session15, call 4); a cuStreamQuery
     * beside a running kernel taking tens of µs would explain it. This timing (not yet measured on a GPU) keeps the
     * question off a step's path.
     */
    private static final long LOOK_AFTER_NS = 300_000;
    private static final long LOOK_EVERY_NS = 200_000;
    /** How much before the kernel's idle wait runs out the host already assumes it may have left. */
    private static final long IDLE_SLACK_NS = 1_000_000;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final long POSTED = 0;  // byte offsets in the control buffer: the posted count, in POSTED_COPIES copies
    private static final int POSTED_COPIES = 4; // 128 bytes apart (the kernel's RES_POSTED_COPIES, RES_POSTED_STRIDE: one
    private static final long POSTED_STRIDE = 128; // poller a copy, each on its own line),
    private static final long DONE = POSTED_COPIES * POSTED_STRIDE; // then one done count a CTA (RES_DONE_WORDS: whole lines)

    private final SparsePersistentEngine engine;
    private final RnnModel model;
    private final int batch;
    private final int hidden;
    private final int inputSize;
    private final boolean lstm;
    private final long idleNs;
    private final Resources owned = new Resources();
    private final PersistentLayers.LayerKernel lk;
    private final int sharedBytes;      // the kernel's dynamic shared memory per CTA (W_ih's rows in it where they fit)
    private final float[] scratch;      // one step's inputs or outputs in float32, on their way to or from page-locked memory
    private final CudaStream stream;
    private final PersistentWorkspace w; // x ring, xproj ring, exchange, counter, fault
    private final DeviceBuffer[] states = new DeviceBuffer[2]; // [2][B][H] fp32 each (h, then c): a launch reads one, leaves
    private int current;                // its state in the other (no buffer is both a launch's h0 and its h_n); this one is current
    private final DeviceBuffer go;      // the kernel's hand-on word
    private final int ctas;             // the kernel's CTAs: one done word each
    private final long traceOffset;     // where the trace stamps begin in the control buffer (past the done words)
    private final PinnedBuffer xHost;   // [RING][B][I] fp32
    private final PinnedBuffer outHost; // [RING][B][H] fp32
    private final PinnedBuffer control; // posted at 0, each CTA's done count from 64 (int32); then the trace's stamps (ResidentTrace)
    private final ResidentTrace trace;  // null: not traced (the usual)
    private final long xHostDev, outHostDev, controlDev; // the three page-locked buffers' device addresses
    private boolean running;            // a launch is (or may still be) in flight
    private long steps;                 // steps done
    private long lastPost = System.nanoTime(); // when the last piece was posted (a step reads the clock once: on some
                                                // machines System.nanoTime costs a µs or more)
    private long launchedAt;            // steps done when the running (or last) launch began: its fault records count from it
    private double[] outDoubles;        // the running call's outputs (step), allocated once its first piece is posted
    private float[] outFloats;          // ... (stepFloat)
    private Tensor lastOutput;          // the last chunk's outputs (step), or null
    private FloatTensor lastFloatOutput; // ... or (stepFloat), or null
    private Tensor hNow;                // the states where the kernel left them, read at state(); null: not read since
    private Tensor cNow;
    private boolean closed;
    private String failed;               // why the session can take no more steps (a kernel fault), or null

    ResidentSession(SparsePersistentEngine engine, RnnModel model, int batch, Tensor h0, Tensor c0) {
        Tensor[] given = RunInputs.sessionStates(model, batch, h0, c0);
        Float32Range.requireFp16(given[0], engine.name());
        this.engine = engine;
        this.model = model;
        this.batch = batch;
        this.hidden = model.hiddenSize();
        this.inputSize = model.inputSize();
        this.lstm = model.cell().hasCellState();
        this.idleNs = idleMillis() * 1_000_000L;
        this.trace = ResidentTrace.open(batch, hidden);
        this.scratch = new float[batch * Math.max(inputSize, hidden)];
        try {
            engine.context().makeCurrent();
            PersistentLayers.ResidentKernel rk = engine.layers().residentKernel(batch);
            lk = rk.layer();
            sharedBytes = rk.sharedBytes();
            ctas = lk.plan().spec().ctas();
            traceOffset = DONE + 4L * ((ctas + 15) / 16 * 16);
            stream = owned.add(engine.context().createStream());
            w = owned.add(new PersistentWorkspace(engine.context(), RING, batch, inputSize, hidden, model.cell().gates(), 1,
                    java.util.List.of(lk), RING, 1));
            for (int i = 0; i < 2; i++) {
                states[i] = owned.add(engine.context().allocate(2L * batch * hidden * 4, "resident session states"));
            }
            go = owned.add(engine.context().allocate(16, "resident hand-on word"));
            xHost = owned.add(engine.context().allocatePinned(4L * RING * batch * inputSize, "resident session inputs"));
            outHost = owned.add(engine.context().allocatePinned(4L * RING * batch * hidden, "resident session outputs"));
            control = owned.add(engine.context().allocatePinned(traceOffset + 8L * ResidentTrace.POINTS * RING,
                    "resident session control words"));
            control.segment().fill((byte) 0);
            xHostDev = xHost.devicePointer();
            outHostDev = outHost.devicePointer();
            controlDev = control.devicePointer();
            Transfers.perCall(stream).uploadFloats(states[current], PersistentSession.stateValues(given[0], given[1], batch * hidden));
            hNow = given[0];
            cNow = given[1];
        } catch (RuntimeException | Error e) {
            owned.closeAfter(e);
            throw e;
        }
    }

    /** {@link #IDLE_PROPERTY}, checked: 1 to 60,000 ms. */
    static long idleMillis() {
        String v = System.getProperty(IDLE_PROPERTY, System.getenv("SPRNN_RESIDENT_IDLE_MS"));
        if (v == null || v.isBlank()) {
            return DEFAULT_IDLE_MS;
        }
        try {
            long ms = Long.parseLong(v.strip());
            if (ms >= 1 && ms <= 60_000) {
                return ms;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new SprnnException("SPRNN_RESIDENT_IDLE_MS (or -D" + IDLE_PROPERTY + "): expected milliseconds 1..60000, got "
                + org.sprnn.io.Untrusted.quote(v));
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
        long entry = trace != null ? System.nanoTime() : 0, first = steps;
        requireOpen();
        RunInputs.checkSessionChunk(chunk, batch);
        int t = chunk.dim(0);
        requireOutputFits(t);
        double[] x = chunk.data();
        if (t > RING) { // several pieces: every value checked before the first is posted
            RunInputs.check(model, chunk, null, null);
        } else { // one piece: staged into the ring now, its values checked as they are converted; nothing posted yet
            RunInputs.checkExceptInputValues(model, chunk, null, null);
            if (!stage(x, null, 0, t)) {
                RunInputs.check(model, chunk, null, null); // names the value; the session goes on as it was
            }
        }
        boolean inRange = run(x, null, t, false);
        Tensor out = checked(new Tensor(new int[] {t, batch, hidden}, outDoubles), inRange);
        outDoubles = null;
        if (trace != null) {
            trace.call(first, t, entry, System.nanoTime());
        }
        return out;
    }

    /** Refuses, before anything is posted, a chunk whose outputs {@code [t][B][H]} no Java array can hold. */
    private void requireOutputFits(int t) {
        if ((long) t * batch * hidden > Integer.MAX_VALUE - 16) {
            throw new SprnnException(engine.name() + ": a chunk of " + t + " steps has " + (long) t * batch * hidden
                    + " outputs, more than a Java array holds: step it in shorter chunks");
        }
    }

    /**
     * {@link #step} for float32 data: the chunk goes to the kernel's ring and the outputs come back without a float64
     * copy of either (about 2 µs less a step at 2304 units than {@code step}, whose float64 values are converted both ways).
     */
    @Override
    public synchronized FloatTensor stepFloat(FloatTensor chunk) {
        long entry = trace != null ? System.nanoTime() : 0, first = steps;
        requireOpen();
        RunInputs.checkSessionChunk(chunk, batch);
        int t = chunk.dim(0);
        requireOutputFits(t);
        float[] x = chunk.data();
        if (t > RING) {
            RunInputs.check(model, chunk, null, null, null);
        } else {
            RunInputs.checkExceptInputValues(model, chunk, null, null, null);
            if (!stage(null, x, 0, t)) {
                RunInputs.check(model, chunk, null, null, null);
            }
        }
        boolean finite = run(null, x, t, true);
        FloatTensor out = new FloatTensor(new int[] {t, batch, hidden}, outFloats);
        outFloats = null;
        if (!finite) {
            checked(out.toTensor(), false);
        }
        lastOutput = null; // state() converts this one if asked
        lastFloatOutput = out;
        if (trace != null) {
            trace.call(first, t, entry, System.nanoTime());
        }
        return out;
    }

    /**
     * The outputs, their range checked as they were copied ({@code inRange}: every h finite and within fp16's range, in
     * which the kernel carries it to the next step, the last step's too): where one is not, the check that names it
     * throws and the session fails (the kernel has carried the overflow on); else they are the last chunk's outputs.
     */
    private Tensor checked(Tensor out, boolean inRange) {
        try {
            if (!inRange) {
                Float32Range.requireOutputInRange(out, 1);
                Float32Range.requireFp16Exchange(out, 1, engine.name());
                Float32Range.requireFp16Carry(out, 1, engine.name());
            }
        } catch (SprnnException e) {
            failed = e.getMessage();
            synchronized (engine) {
                halt();
            }
            throw e;
        }
        lastOutput = out;
        lastFloatOutput = null;
        return out;
    }

    /**
     * Runs the {@code t} steps of a chunk ({@code xd} or {@code xf}, checked), the first piece staged already where
     * {@code t <= RING}; the outputs into {@link #outFloats} ({@code floats}) or {@link #outDoubles}, allocated once the
     * first piece is posted (zeroing them, 18 KB a step at 2304 units in float64, is then off the step's path: it measured
     * 4.3 µs from the call to its post at 2304 / batch 1 and 18 µs at batch 4 before, results/suite/session17). False
     * where an output is NaN or infinite.
     */
    private boolean run(double[] xd, float[] xf, int t, boolean floats) {
        outDoubles = null;
        outFloats = null;
        synchronized (engine) {
            engine.requireOpen();
            // no CUDA call on a step's path while the kernel runs: the context is made current where one is made.
            // The kernel advances the state as it goes: a step that fails after it has run leaves the session failed
            // (its steps are consumed), never a state that does not match steps()
            hNow = null;
            cNow = null;
            try {
                boolean finite = true;
                for (int done = 0; done < t; ) {
                    int piece = Math.min(RING, t - done);
                    if (t > RING) {
                        stage(xd, xf, done, piece); // checked before the first piece
                    }
                    if (!runPiece(done, piece, t, floats)) {
                        finite = false;
                    }
                    done += piece;
                }
                return finite;
            } catch (CudaException e) {
                failed = e.getMessage();
                if (SparsePersistentEngine.contextLost(e)) {
                    running = false;
                } else {
                    halt();
                }
                throw SparsePersistentEngine.sessionError(engine.name(), e);
            } catch (SprnnException e) {
                if (failed == null) {
                    failed = e.getMessage();
                }
                halt();
                throw e;
            } catch (OutOfMemoryError e) { // the outputs' allocation, after the post: the kernel runs those steps anyway
                failed = "no memory for a chunk's outputs";
                halt();
                throw new SprnnException(engine.name() + ": no memory in this JVM's heap for the outputs of " + t
                        + " step(s) (" + Runtime.getRuntime().maxMemory() / (1 << 20) + " MB): give it more with "
                        + "SPRNN_JAVA_OPTS=-Xmx<size>; this session has failed (close it and open another)");
            } catch (RuntimeException e) {
                failed = String.valueOf(e);
                halt();
                throw e;
            }
        }
    }

    /**
     * Steps {@code from .. from + n - 1} of a chunk ({@code xd} or {@code xf}) into the ring slots of the next {@code n}
     * steps in float32 (slots the kernel is done with: it has finished every step before them); false where a value
     * rounds to NaN or infinity (nothing is posted here).
     */
    private boolean stage(double[] xd, float[] xf, int from, int n) {
        MemorySegment in = xHost.segment();
        int bi = batch * inputSize;
        boolean finite = true;
        for (int s = 0; s < n; s++) {
            long slot = (steps + s) % RING;
            int at = (from + s) * bi;
            if (xd != null) {
                finite &= toFloats(xd, at, bi, scratch);
                MemorySegment.copy(scratch, 0, in, JAVA_FLOAT, slot * bi * 4, bi);
            } else {
                finite &= allFinite(xf, at, bi);
                MemorySegment.copy(xf, at, in, JAVA_FLOAT, slot * bi * 4, bi);
            }
        }
        return finite;
    }

    /**
     * Steps {@code from .. from + n - 1} of a chunk of {@code t}, staged: posted, waited for, their outputs into
     * {@link #outFloats} or {@link #outDoubles} (allocated while the kernel runs the first piece).
     *
     * @return false where an output is NaN or infinite (the caller names it)
     */
    private boolean runPiece(int from, int n, int t, boolean floats) {
        long target = steps + n;
        if (target >= Integer.MAX_VALUE) { // the kernel counts steps in int32
            throw new SprnnException(engine.name() + ": a resident session runs at most " + (Integer.MAX_VALUE - 1) + " steps");
        }
        MemorySegment c = control.segment();
        if (trace != null) { // the last piece's last stamps, before a step of this piece can take their slot
            trace.collect(c, traceOffset, RING, steps);
        }
        VarHandle.fullFence(); // the inputs before the count that posts them
        post(c, (int) target);
        ensureRunning();
        long start = System.nanoTime();
        long bound = idleNs + 2 * engine.variant().spinTimeoutNs() + 1_000_000_000L;
        int spins = 0;
        // cuStreamQuery can take tens of µs while the kernel runs: not on a step's path, unless the kernel has likely
        // left already (the session was idle about as long as the kernel waits)
        // (the gap since the last post is at least the idle gap since the last piece was done: a look a step too early
        // at worst)
        long look = running && start - lastPost >= idleNs - IDLE_SLACK_NS ? start : start + LOOK_AFTER_NS;
        lastPost = start;
        if (from == 0) { // the chunk's outputs, while the kernel runs its first piece
            if (floats) {
                outFloats = new float[t * batch * hidden];
            } else {
                outDoubles = new double[t * batch * hidden];
            }
        }
        double[] yd = outDoubles;
        float[] yf = outFloats;
        while (!allDone(c, (int) target)) {
            if ((++spins & 63) == 0) {
                long now = System.nanoTime();
                if (now - start > bound) {
                    String why = String.format(Locale.ROOT, "the resident session's kernel did not finish steps %d..%d within %.1f s",
                            steps, target - 1, bound / 1e9);
                    failed = why;
                    halt(); // the kernel's own waits are bounded: it leaves
                    throw new SprnnException(engine.name() + ": " + why);
                }
                if (now < look) {
                    continue;
                }
                look = now + LOOK_EVERY_NS;
                engine.context().makeCurrent();
                if (stream.isIdle()) { // the kernel left: idle just before this post, a fault, or its step limit
                    running = false;
                    current = 1 - current; // it left its state in the other buffer
                    checkFault();
                    if (allDone(c, (int) target)) {
                        break;
                    }
                    ensureRunning();
                }
            }
        }
        VarHandle.fullFence(); // the outputs after the count that says they are there
        if (trace != null) {
            trace.piece(steps, n, start, System.nanoTime());
            trace.collect(c, traceOffset, RING, target - 1); // the last step's last stamp may still be on its way
        }
        MemorySegment out = outHost.segment();
        int bh = batch * hidden;
        boolean finite = true;
        for (int s = 0; s < n; s++) {
            long slot = (steps + s) % RING;
            if (!floats) {
                MemorySegment.copy(out, JAVA_FLOAT, slot * bh * 4, scratch, 0, bh);
                finite &= toDoubles(scratch, bh, yd, (from + s) * bh);
            } else {
                MemorySegment.copy(out, JAVA_FLOAT, slot * bh * 4, yf, (from + s) * bh, bh);
                finite &= withinFp16(yf, (from + s) * bh, bh);
            }
        }
        steps = target;
        return finite;
    }

    /** Writes the posted count {@code v} into each copy the kernel's pollers read (the inputs before it: a fence first). */
    private static void post(MemorySegment c, int v) {
        for (int k = 0; k < POSTED_COPIES; k++) {
            INT.setRelease(c, POSTED + k * POSTED_STRIDE, v); // x86: a plain store, in order after the inputs
        }
    }

    /** Whether every CTA has written a done count of at least {@code target} (the first one short ends the look). */
    private boolean allDone(MemorySegment c, int target) {
        for (int i = 0; i < ctas; i++) {
            if ((int) INT.getVolatile(c, DONE + 4L * i) < target) {
                return false;
            }
        }
        return true;
    }

    /** The steps every CTA has done: the least of their counts (all equal once the kernel has left). */
    private int doneCount(MemorySegment c) {
        int min = Integer.MAX_VALUE;
        for (int i = 0; i < ctas; i++) {
            min = Math.min(min, (int) INT.getVolatile(c, DONE + 4L * i));
        }
        return min;
    }

    /**
     * {@code x[from .. from + n)} rounded to float32 into {@code f[0 .. n)}; false where one rounds to NaN or infinity
     * (Float32Range's rule). The conversion a plain array loop that the JIT vectorises, the check {@link FloatScan}'s.
     */
    static boolean toFloats(double[] x, int from, int n, float[] f) {
        for (int i = 0; i < n; i++) {
            f[i] = (float) x[from + i];
        }
        return FloatScan.finite(f, 0, n);
    }

    /** Whether {@code f[from .. from + n)} holds no NaN or infinity. */
    static boolean allFinite(float[] f, int from, int n) {
        return FloatScan.finite(f, from, n);
    }

    /** {@code f[0 .. n)} widened into {@code y[at .. at + n)}; false where one is NaN or beyond fp16's range (|h| > 65504). */
    static boolean toDoubles(float[] f, int n, double[] y, int at) {
        for (int i = 0; i < n; i++) {
            y[at + i] = f[i];
        }
        return FloatScan.withinFp16(f, 0, n);
    }

    /** Whether every value of {@code f[from .. from + n)} is within fp16's range ({@code |h| <= 65504}; NaN is not). */
    static boolean withinFp16(float[] f, int from, int n) {
        return FloatScan.withinFp16(f, from, n);
    }

    /**
     * Launches the resident kernel unless it is running: from the states in the current buffer, at the count of steps the
     * last launch finished (which may be past {@link #steps} within a piece, when a launch reached its step limit).
     */
    private void ensureRunning() {
        if (running) {
            return;
        }
        engine.context().makeCurrent();
        int first = doneCount(control.segment());
        var s = lk.plan().spec();
        w.counter.fill((byte) 0, stream);
        w.fault.fill((byte) 0, stream);
        w.exchange.fill((byte) 0, stream);
        go.fill((byte) 0, stream);
        long bh = (long) batch * hidden * 4;
        PersistentLayers layers = engine.layers();
        lk.kernel().launchCooperative(stream, s.ctas(), s.threadsPerCta(), sharedBytes, lk.words(), lk.rowEnds(),
                lk.warpUnits(), lk.needed(), w.xproj, layers.bHh(0), states[current].ptr(), states[current].ptr(bh),
                outHostDev, states[1 - current].ptr(), states[1 - current].ptr(bh), w.exchange, w.counter, w.fault,
                Integer.MAX_VALUE, engine.variant().spinTimeoutNs(), layers.wIh(0), layers.bIh(0), xHostDev, w.x,
                controlDev + POSTED, controlDev + DONE, go, first, RING, inputSize, idleNs);
        running = true;
        launchedAt = first;
    }

    /** Throws the fault the kernel recorded, if any (after it left). */
    private void checkFault() {
        int[] record = Transfers.perCall(stream).downloadInts(w.fault, KernelFault.RECORD_INTS);
        SprnnException e = KernelFault.exception(record, engine.name(), 0, (int) launchedAt,
                engine.variant().spinTimeoutNs());
        if (e != null) {
            failed = e.getMessage();
            throw e;
        }
    }

    /** Asks the kernel to leave and waits for it (bounded by its poll: it sees the request within a step). */
    private void stop() {
        if (!running) {
            return;
        }
        engine.context().makeCurrent();
        post(control.segment(), -1);
        long start = System.nanoTime(), bound = idleNs + 2 * engine.variant().spinTimeoutNs() + 1_000_000_000L;
        while (!stream.isIdle()) { // bounded: the kernel's own waits are, but a launch queued behind other work may not start
            if (System.nanoTime() - start > bound) {
                failed = String.format(Locale.ROOT, "its kernel did not leave within %.1f s of being told to", bound / 1e9);
                throw new SprnnException(engine.name() + ": the resident session's kernel did not leave within "
                        + String.format(Locale.ROOT, "%.1f s", bound / 1e9) + " of being told to; its buffers stay allocated");
            }
            Thread.onSpinWait();
        }
        running = false;
        current = 1 - current; // it left its state in the other buffer
        post(control.segment(), (int) steps);
        if (trace != null) {
            trace.collect(control.segment(), traceOffset, RING, steps);
        }
        checkFault();
    }

    /** {@link #stop}, after a failure: whatever it throws now is the failure's consequence, not news. */
    private void halt() {
        try {
            stop();
        } catch (SprnnException e) {
            // a kernel that did not leave stays `running` (its buffers are then never freed); a fault record is the news
        } catch (RuntimeException e) {
            running = false;
        }
    }

    @Override
    public synchronized RnnOutput state() {
        requireOpen();
        if (hNow == null) {
            synchronized (engine) {
                engine.requireOpen();
                engine.context().makeCurrent();
                float[] s;
                int n = batch * hidden;
                try {
                    stop();
                    s = Transfers.perCall(stream).downloadFloats(states[current], 2L * n);
                } catch (CudaException e) {
                    failed = e.getMessage();
                    throw e;
                }
                hNow = PersistentSession.stateTensor(s, 0, 1, batch, hidden);
                cNow = lstm ? PersistentSession.stateTensor(s, 1, 1, batch, hidden) : null;
            }
        }
        if (lastOutput == null && lastFloatOutput != null) {
            lastOutput = lastFloatOutput.toTensor();
            lastFloatOutput = null;
        }
        // the states copied: the caller may write to them, and hNow / cNow are what the next step starts from
        return new RnnOutput(lastOutput, Tensor.copyOf(hNow), Tensor.copyOf(cNow));
    }

    private void requireOpen() {
        if (closed) {
            throw RunInputs.sessionClosed(steps);
        }
        if (failed != null) {
            throw new SprnnException(engine.name() + ": this resident session failed at an earlier step (" + failed
                    + "); close it and open another");
        }
    }

    /** Stops the kernel and frees the session's buffers and stream; idempotent. The engine stays open. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        lastOutput = null;
        lastFloatOutput = null;
        outDoubles = null;
        outFloats = null;
        try {
            engine.context().makeCurrent();
            halt(); // closing: a fault now was the last step's to report
            if (trace != null) {
                trace.write();
            }
        } finally {
            try {
                if (!running) { // never free what a kernel that would not leave may still use (then the buffers leak)
                    owned.close();
                }
            } finally {
                engine.sessionClosed(this);
            }
        }
    }

    @Override
    public String toString() {
        return "resident session of " + engine.name() + ", batch " + batch + ", " + steps + " steps" + (closed ? ", closed" : "");
    }
}
