package org.sprnn.engine;

// A bidirectional stack from unidirectional one-layer engines. PyTorch's bidirectional layer k runs two
// independent recurrences over the same input: the forward one from step 0, the reverse one from each
// sequence's last step back to step 0 (with packed sequences, from its own last step, not from T-1). The
// reverse recurrence is a forward one over the sequence reversed within its own length, so each direction
// of each layer is one plain engine of one layer; layer k+1 reads [forward half | reverse half] of layer k's
// outputs, hence its W_ih of 2H columns. Nothing here knows how a cell computes: the CPU engines build one
// of their own engines per layer and direction and hand them to this class.

import java.util.Set;
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
 */
public final class BidirectionalEngine implements Engine {

    private final String name;
    private final RnnModel model;
    private final Engine[][] engines; // [layer][direction] one-layer unidirectional engines

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
        if (!model.bidirectional()) {
            throw new SprnnException(name + ": BidirectionalEngine needs a bidirectional model");
        }
        this.name = name;
        this.model = model;
        this.engines = new Engine[model.numLayers()][2];
        try {
            for (int k = 0; k < model.numLayers(); k++) {
                for (int d = 0; d < 2; d++) {
                    engines[k][d] = build.apply(model.singleLayer(k, d));
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
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
        return engines[0][0].tolerance();
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        return run(input, h0, c0, null);
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        int batch = RunInputs.check(model, input, h0, c0, lengths);
        int steps = input.dim(0), h = model.hiddenSize(), layers = model.numLayers();
        int[] len = new int[batch];
        for (int b = 0; b < batch; b++) {
            len[b] = lengths == null ? steps : lengths.get(b);
        }
        boolean lstm = model.cell().hasCellState();
        double[] hN = new double[2 * layers * batch * h];
        double[] cN = lstm ? new double[2 * layers * batch * h] : null;
        Tensor seq = input;
        for (int k = 0; k < layers; k++) {
            double[] next = new double[steps * batch * 2 * h]; // [T][B][2H]
            for (int d = 0; d < 2; d++) {
                int row = 2 * k + d;
                Tensor x = d == 0 ? seq : reversed(seq, len);
                RnnOutput r;
                try {
                    Engine e = engines[k][d];
                    r = e.run(x, row(h0, row), row(c0, row), lengths); // the engine's own way with lengths
                } catch (SprnnException e) {
                    throw remapped(e, k, d, len);
                }
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

    /** Closes every engine it holds; idempotent. */
    @Override
    public void close() {
        for (Engine[] pair : engines) {
            for (Engine e : pair) {
                if (e != null) {
                    e.close();
                }
            }
        }
    }
}
