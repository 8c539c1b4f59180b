package org.sprnn.engine;

// A bidirectional stack from unidirectional one-layer engines. PyTorch's bidirectional layer k runs two
// independent recurrences over the same input: the forward one from step 0, the reverse one from each
// sequence's last step back to step 0 (with packed sequences, from its own last step, not from T-1). The
// reverse recurrence is a forward one over the sequence reversed within its own length, so each direction
// of each layer is one plain engine of one layer; layer k+1 reads [forward half | reverse half] of layer k's
// outputs, hence its W_ih of 2H columns. Nothing here knows how a cell computes: the CPU engines build one
// of their own engines per layer and direction and hand them to this class. A GPU engine can also hand a second way
// to build: each direction on a share of the device (DeviceLimits.share), so that the two directions of a layer run at
// once, each on its own stream from its own thread, wherever both fit in their shares at the run's batch.

import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sprnn.SprnnException;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Runs a bidirectional model ({@link RnnModel#bidirectional()}) with one unidirectional one-layer engine per
 * layer and direction, exactly as PyTorch's {@code bidirectional=True}: output {@code [T][B][2H]} (forward half,
 * then reverse half), states {@code [2L][B][H]} ordered layer 0 forward, layer 0 reverse, layer 1 forward, ...;
 * with {@link SequenceLengths}, the reverse direction starts at each sequence's own last step. Closing it closes
 * every engine it holds.
 *
 * <p>Built {@linkplain #BidirectionalEngine(String, RnnModel, Function, Function, BiPredicate) with shared engines},
 * it runs the two directions of each layer at once (the reverse one on a thread of its own) on the shared engines
 * wherever every layer's two directions fit their shares at the run's batch, and one after the other on the whole
 * engines elsewhere; {@link #concurrentAt(int)} says which.
 */
public final class BidirectionalEngine implements Engine {

    private final String name;
    private final RnnModel model;
    private final Function<RnnModel, Engine> build;
    private final Engine[][] engines; // [layer][direction] one-layer unidirectional engines, the whole device's
    private final Function<RnnModel, Engine> buildShared; // null: the directions run one after the other
    private final BiPredicate<RnnModel, Integer> sharedFits;
    private final Engine[][] shared; // [layer][direction] on a share of the device each, or null
    private DirectionPairTimer pairTimer; // the device timer of a one-layer model, or null
    private final java.util.Map<Integer, Boolean> fitsAt = new java.util.concurrent.ConcurrentHashMap<>(); // concurrentAt's answers
    private ExecutorService reverseThread; // runs the reverse directions of concurrent runs; made at the first
    private volatile boolean closed;

    /**
     * Builds one engine per layer and direction with {@code build}, from {@link RnnModel#singleLayer}.
     *
     * @param name  the engine's name (that of the engines it is made of, e.g. {@code cpu})
     * @param model a bidirectional model
     * @param build makes a sequence-first engine for a one-layer unidirectional model, one that supports
     *              {@link EngineFeature#LENGTHS}
     * @throws SprnnException if the model is not bidirectional; what {@code build} throws (the engines built
     *                        so far are closed)
     */
    public BidirectionalEngine(String name, RnnModel model, Function<RnnModel, Engine> build) {
        this(name, model, build, null, null);
    }

    /**
     * As {@link #BidirectionalEngine(String, RnnModel, Function)}, with a second way to build each direction's engine:
     * on a share of the device, so that the two directions of a layer can run at once. The shared engines are built
     * here; the whole-device ones only when a run's batch does not fit the shares.
     *
     * @param name        the engine's name
     * @param model       a bidirectional model
     * @param build       makes an engine of a one-layer unidirectional model on the whole device (as above)
     * @param buildShared makes one on a share of the device, or null for none (every run one direction after the other)
     * @param sharedFits  whether a one-layer model fits its share at a batch size (null when {@code buildShared} is)
     * @throws SprnnException if the model is not bidirectional, or only one of {@code buildShared} and
     *                        {@code sharedFits} is given; what the builders throw (the engines built so far are closed)
     */
    public BidirectionalEngine(String name, RnnModel model, Function<RnnModel, Engine> build, Function<RnnModel, Engine> buildShared,
                               BiPredicate<RnnModel, Integer> sharedFits) {
        if (!model.bidirectional()) {
            throw new SprnnException(name + ": BidirectionalEngine needs a bidirectional model");
        }
        if ((buildShared == null) != (sharedFits == null)) {
            throw new SprnnException(name + ": BidirectionalEngine needs both the shared builder and its fit test, or neither");
        }
        this.name = name;
        this.model = model;
        this.build = build;
        this.buildShared = buildShared;
        this.sharedFits = sharedFits;
        this.engines = new Engine[model.numLayers()][2];
        this.shared = buildShared == null ? null : new Engine[model.numLayers()][2];
        try {
            for (int k = 0; k < model.numLayers(); k++) {
                for (int d = 0; d < 2; d++) {
                    if (buildShared == null) {
                        engines[k][d] = build.apply(model.singleLayer(k, d));
                    } else {
                        shared[k][d] = buildShared.apply(model.singleLayer(k, d));
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Whether a run at {@code batch} runs the two directions of each layer at once: shared engines were given and every
     * layer's two directions fit their shares at that batch.
     *
     * @param batch the batch size
     * @return true for at once, false for one after the other
     */
    public boolean concurrentAt(int batch) {
        if (shared == null) {
            return false;
        }
        return fitsAt.computeIfAbsent(batch, b -> {
            for (int k = 0; k < model.numLayers(); k++) {
                for (int d = 0; d < 2; d++) {
                    if (!sharedFits.test(model.singleLayer(k, d), b)) {
                        return false;
                    }
                }
            }
            return true;
        });
    }

    /**
     * Gives a one-layer model a device timer ({@link #deviceTimer()}): {@code timer} times both directions' recurrent
     * launches, at once where {@link #concurrentAt} says so.
     *
     * @param timer the GPU engines' timer of a pair of their engines
     * @return this engine
     */
    public BidirectionalEngine withPairTimer(DirectionPairTimer timer) {
        this.pairTimer = timer;
        return this;
    }

    /**
     * For a one-layer model built {@linkplain #withPairTimer with a pair timer}: both directions' recurrent launches timed
     * on the device (at once where {@link #concurrentAt}, else one after the other, a sample the sum); otherwise none
     * (a wall clock around {@link #run} times it).
     */
    @Override
    public java.util.Optional<DeviceTimer> deviceTimer() {
        if (pairTimer == null || model.numLayers() != 1) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of((inputSets, h0, c0, warmup, reps) -> {
            requireOpen();
            int steps = inputSets.get(0).dim(0), batch = inputSets.get(0).dim(1);
            int[] full = new int[batch];
            java.util.Arrays.fill(full, steps);
            java.util.List<Tensor> rev = inputSets.stream().map(x -> reversed(x, full)).toList();
            boolean together = concurrentAt(batch);
            Engine f = together ? shared[0][0] : whole(0, 0), r = together ? shared[0][1] : whole(0, 1);
            DeviceTimes t = pairTimer.time(f, r, inputSets, rev, warmup, reps, together);
            return new DeviceTimes(t.steps(), t.fullMicros(), t.recurrentMicros(), (together ? "both directions at once, each on "
                    + "half the SMs: " : "the two directions one after the other (a sample the sum): ") + t.how());
        });
    }

    /** The whole-device engine of layer {@code k}, direction {@code d}, built at its first use. */
    private synchronized Engine whole(int k, int d) {
        requireOpen();
        if (engines[k][d] == null) {
            engines[k][d] = build.apply(model.singleLayer(k, d));
        }
        return engines[k][d];
    }

    @Override
    public String name() {
        return name;
    }

    /** Lengths and bidirectional models. */
    @Override
    public Set<EngineFeature> features() {
        return Set.of(EngineFeature.LENGTHS, EngineFeature.BIDIRECTIONAL);
    }

    @Override
    public double tolerance() {
        return (shared != null ? shared : engines)[0][0].tolerance();
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        return run(input, h0, c0, null);
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        requireOpen();
        int batch = RunInputs.check(model, input, h0, c0, lengths);
        int steps = input.dim(0), h = model.hiddenSize(), layers = model.numLayers();
        int[] len = new int[batch];
        for (int b = 0; b < batch; b++) {
            len[b] = lengths == null ? steps : lengths.get(b);
        }
        boolean lstm = model.cell().hasCellState();
        double[] hN = new double[2 * layers * batch * h];
        double[] cN = lstm ? new double[2 * layers * batch * h] : null;
        boolean together = concurrentAt(batch);
        Tensor seq = input;
        for (int k = 0; k < layers; k++) {
            double[] next = new double[steps * batch * 2 * h]; // [T][B][2H]
            RnnOutput[] both = runLayer(k, seq, h0, c0, lengths, len, together);
            for (int d = 0; d < 2; d++) {
                int row = 2 * k + d;
                RnnOutput r = both[d];
                double[] o = r.output().data();
                for (int t = 0; t < steps; t++) {
                    for (int b = 0; b < batch; b++) {
                        if (t >= len[b]) {
                            continue; // zero after the sequence's end
                        }
                        int src = d == 0 ? t : len[b] - 1 - t; // the reverse run's step for this step
                        System.arraycopy(o, (src * batch + b) * h, next, ((t * batch + b) * 2 + d) * h, h);
                    }
                }
                System.arraycopy(r.hN().data(), 0, hN, row * batch * h, batch * h);
                if (lstm) {
                    System.arraycopy(r.cN().data(), 0, cN, row * batch * h, batch * h);
                }
            }
            seq = new Tensor(new int[] {steps, batch, 2 * h}, next);
        }
        int[] st = {2 * layers, batch, h};
        return new RnnOutput(seq, new Tensor(st, hN), lstm ? new Tensor(st, cN) : null);
    }

    /** Layer {@code k}'s two directions on {@code seq}: at once on the shared engines, or one after the other. */
    private RnnOutput[] runLayer(int k, Tensor seq, Tensor h0, Tensor c0, SequenceLengths lengths, int[] len, boolean together) {
        Tensor xr = reversed(seq, len);
        if (!together) {
            return new RnnOutput[] {direction(whole(k, 0), k, 0, seq, h0, c0, lengths, len),
                direction(whole(k, 1), k, 1, xr, h0, c0, lengths, len)};
        }
        Future<RnnOutput> reverse = reverseThread().submit(() -> direction(shared[k][1], k, 1, xr, h0, c0, lengths, len));
        RnnOutput forward;
        try {
            forward = direction(shared[k][0], k, 0, seq, h0, c0, lengths, len);
        } catch (Throwable e) { // the reverse direction still runs on its engine: wait for it before anything goes on
            Throwable other = joinQuietly(reverse);
            if (other != null && other != e) {
                e.addSuppressed(other);
            }
            throw e;
        }
        return new RnnOutput[] {forward, join(reverse)};
    }

    /** One direction's run, an overflow named by the stack's layer and direction. */
    private static RnnOutput direction(Engine e, int k, int d, Tensor x, Tensor h0, Tensor c0, SequenceLengths lengths, int[] len) {
        try {
            return e.run(x, row(h0, 2 * k + d), row(c0, 2 * k + d), lengths); // the engine's own way with lengths
        } catch (SprnnException ex) {
            throw remapped(ex, k, d, len);
        }
    }

    private synchronized ExecutorService reverseThread() {
        if (reverseThread == null) {
            reverseThread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, name + "-reverse");
                t.setDaemon(true);
                return t;
            });
        }
        return reverseThread;
    }

    /** The reverse direction's result; what it threw, as it was (an {@link Error} wrapped: none escapes the library). */
    private RnnOutput join(Future<RnnOutput> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            joinQuietly(f);
            throw new SprnnException(name + ": interrupted while the reverse direction ran", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new SprnnException(name + ": the reverse direction failed: " + c, c);
        }
    }

    /** Waits for {@code f} to end (its engine must not run while the caller goes on); what it threw, or null. */
    private static Throwable joinQuietly(Future<?> f) {
        boolean interrupted = false;
        Throwable thrown = null;
        while (true) {
            try {
                f.get();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                thrown = e.getCause();
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return thrown;
    }

    private void requireOpen() {
        if (closed) {
            throw new SprnnException(name + ": engine used after close()");
        }
    }

    /** {@code x [T][B][W]} with each sequence b's first {@code len[b]} steps in reverse order, zeros after them. */
    static Tensor reversed(Tensor x, int[] len) {
        int steps = x.dim(0), batch = x.dim(1), w = x.dim(2);
        double[] src = x.data(), dst = new double[src.length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < len[b]; t++) {
                System.arraycopy(src, ((len[b] - 1 - t) * batch + b) * w, dst, (t * batch + b) * w, w);
            }
        }
        return new Tensor(new int[] {steps, batch, w}, dst);
    }

    /** Row {@code r} of states {@code [2L][B][H]} as {@code [1][B][H]}, or null. */
    private static Tensor row(Tensor s, int r) {
        if (s == null) {
            return null;
        }
        int b = s.dim(1), h = s.dim(2);
        double[] d = new double[b * h];
        System.arraycopy(s.data(), r * b * h, d, 0, b * h);
        return new Tensor(new int[] {1, b, h}, d);
    }

    private static final Pattern LAYER = Pattern.compile("layer 0's");
    private static final Pattern STEP_AND_ELEMENT = Pattern.compile("at step (\\d+) \\(batch element (\\d+)");

    /** An overflow of a one-layer engine, named by the stack's layer, the direction, and the sequence's own step. */
    private static SprnnException remapped(SprnnException e, int k, int d, int[] len) {
        String msg = e.getMessage();
        if (msg == null || !msg.startsWith("overflow: layer 0's")) {
            return e;
        }
        String fixed = LAYER.matcher(msg).replaceFirst("layer " + k + (d == 0 ? " (forward)" : " (reverse)") + "'s");
        Matcher m = STEP_AND_ELEMENT.matcher(fixed);
        if (d == 1 && m.find()) {
            int b = Integer.parseInt(m.group(2));
            int step = b < len.length ? len[b] - 1 - Integer.parseInt(m.group(1)) : Integer.parseInt(m.group(1));
            fixed = fixed.substring(0, m.start()) + "at step " + step + " (batch element " + b + fixed.substring(m.end());
        }
        return new SprnnException(fixed, e);
    }

    /**
     * Refused: a bidirectional layer's reverse direction starts at each sequence's end, which a stream has not seen.
     *
     * @throws SprnnException always
     */
    @Override
    public Session openSession(int batch, Tensor h0, Tensor c0) {
        throw new SprnnException(name + ": a streaming session cannot run a bidirectional model (its reverse direction "
                + "starts at each sequence's end): run the whole sequence");
    }

    /**
     * Closes every engine it holds, after the reverse directions' thread has finished what it runs (a run of another
     * thread is not waited for beyond that: an engine, like its engines, runs one call at a time); idempotent.
     */
    @Override
    public void close() {
        ExecutorService t;
        synchronized (this) {
            closed = true;
            t = reverseThread;
        }
        if (t != null) {
            t.shutdown();
            try { // a direction's run ends (the kernels' spins are bounded): the wait is for that, not a hang
                t.awaitTermination(5, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Engine[][] set : new Engine[][][] {engines, shared}) {
            if (set == null) {
                continue;
            }
            for (Engine[] pair : set) {
                for (int d = 0; d < pair.length; d++) {
                    if (pair[d] != null) {
                        pair[d].close();
                        pair[d] = null;
                    }
                }
            }
        }
    }
}
