package org.sprnn.engine;

// Sequences of different lengths on any engine that runs whole batches. A cell's step t of sequence b depends
// only on b's own steps before t, and a stack's layer k at step t only on layer k-1 at t and layer k at t-1;
// so a run over steps [s, e) of every layer, started from the states at step s, continues a run exactly. With
// the distinct lengths l1 < l2 < ... sorted, the batch runs steps [0, l1) whole, then steps [l1, l2) with only
// the sequences longer than l1, started from their states at l1, and so on: one run per distinct length, every
// step of every sequence computed once, none past its end (PyTorch's packed sequences step the same way,
// shrinking the batch as sequences end). The states carry from run to run as the engine returns them, so for
// the CPU engines a packed run equals the runs of each sequence alone value for value (the float64 reference:
// bit for bit).

import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * Runs a batch of sequences of different lengths ({@link SequenceLengths}) through an engine's plain
 * {@link Engine#run}, in one segment per distinct length: outputs after a sequence's end are zero, its final
 * states are those of its own last step. The engines that support {@link EngineFeature#LENGTHS} without a
 * path of their own run lengths through this.
 */
public final class LengthSegments {
    private LengthSegments() {
    }

    /**
     * Runs {@code input} with per-sequence lengths through {@code engine}'s sequence-first {@link Engine#run}.
     *
     * @param engine  the sequence-first engine that runs each segment
     * @param input   {@code [T][B][I]}; steps at or after a sequence's length are padding and never read
     * @param h0      initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0      initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @param lengths one length per batch element, each 1..T
     * @return outputs {@code [T][B][H]}, zero after each sequence's end, and the final states of each
     *         sequence's own last step
     * @throws SprnnException as {@link Engine#run}; also if the lengths do not fit the input, or a value of the
     *                        input that is read is one float32 cannot hold (padding is not read, so not tested);
     *                        an overflow names the step and batch element of the whole batch
     */
    public static RnnOutput run(Engine engine, Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (input == null || input.rank() != 3 || lengths == null) {
            return engine.run(input, h0, c0); // the engine's own message for a missing or malformed input
        }
        int steps = input.dim(0), batch = input.dim(1), in = input.dim(2);
        lengths.check(batch, steps);
        checkReadValues(input, lengths, false);
        if (lengths.allEqual(steps)) {
            return engine.run(input, h0, c0);
        }
        TreeSet<Integer> ends = new TreeSet<>();
        for (int b = 0; b < batch; b++) {
            ends.add(lengths.get(b));
        }
        double[] x = input.data();
        double[] out = null;
        int outWidth = 0;
        Tensor h = null, c = null; // [L][B][H] every sequence's state at the end of the last segment
        int start = 0;
        for (int end : ends) {
            int[] active = active(lengths, start);
            int n = active.length, len = end - start;
            double[] sub = new double[len * n * in];
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < n; j++) {
                    System.arraycopy(x, ((start + t) * batch + active[j]) * in, sub, (t * n + j) * in, in);
                }
            }
            boolean first = start == 0; // every sequence has at least one step: the first segment is the whole batch
            RnnOutput r;
            try {
                r = engine.run(new Tensor(new int[] {len, n, in}, sub), first ? h0 : gather(h, active), first ? c0 : gather(c, active));
            } catch (SprnnException e) {
                throw remapped(e, start, active);
            }
            if (out == null) {
                outWidth = r.output().dim(2);
                out = new double[steps * batch * outWidth];
            }
            double[] ro = r.output().data();
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < n; j++) {
                    System.arraycopy(ro, (t * n + j) * outWidth, out, ((start + t) * batch + active[j]) * outWidth, outWidth);
                }
            }
            if (first) {
                h = r.hN();
                c = r.cN();
            } else {
                scatter(r.hN(), h, active);
                if (c != null) {
                    scatter(r.cN(), c, active);
                }
            }
            start = end;
        }
        return new RnnOutput(new Tensor(new int[] {steps, batch, outWidth}, out), h, c);
    }

    /** The batch elements whose sequences are longer than {@code start}, ascending. */
    private static int[] active(SequenceLengths lengths, int start) {
        return java.util.stream.IntStream.range(0, lengths.count()).filter(b -> lengths.get(b) > start).toArray();
    }

    /** {@code [L][n][H]}: the rows {@code active} of {@code s [L][B][H]}. */
    static Tensor gather(Tensor s, int[] active) {
        if (s == null) {
            return null;
        }
        int l = s.dim(0), b = s.dim(1), hid = s.dim(2), n = active.length;
        double[] d = s.data(), g = new double[l * n * hid];
        for (int k = 0; k < l; k++) {
            for (int j = 0; j < n; j++) {
                System.arraycopy(d, (k * b + active[j]) * hid, g, (k * n + j) * hid, hid);
            }
        }
        return new Tensor(new int[] {l, n, hid}, g);
    }

    /** Writes {@code part [L][n][H]} to the rows {@code active} of {@code s [L][B][H]}. */
    static void scatter(Tensor part, Tensor s, int[] active) {
        int l = s.dim(0), b = s.dim(1), hid = s.dim(2), n = active.length;
        double[] p = part.data(), d = s.data();
        for (int k = 0; k < l; k++) {
            for (int j = 0; j < n; j++) {
                System.arraycopy(p, (k * n + j) * hid, d, (k * b + active[j]) * hid, hid);
            }
        }
    }

    /**
     * Refuses the first value of {@code input [T][B][I]} that a run with these lengths reads (steps before each
     * sequence's end) and that float32 cannot hold, naming it by its {@code [t][b][i]} ({@code [b][t][i]} where
     * {@code batchFirst}, whose input is {@code [B][T][I]}). Padding is not read, so not tested (PyTorch ignores it too).
     *
     * @param input      {@code [T][B][I]}, or {@code [B][T][I]} where {@code batchFirst}
     * @param lengths    one length per batch element, already checked against the input
     * @param batchFirst whether {@code input} is batch-first
     * @throws SprnnException as {@link RunInputs#check} words it
     */
    public static void checkReadValues(Tensor input, SequenceLengths lengths, boolean batchFirst) {
        int d0 = input.dim(0), d1 = input.dim(1), in = input.dim(2);
        double[] x = input.data();
        for (int p = 0; p < d0; p++) {
            for (int q = 0; q < d1; q++) {
                int t = batchFirst ? q : p, b = batchFirst ? p : q;
                if (t >= lengths.get(b)) {
                    continue;
                }
                for (int i = 0, o = (p * d1 + q) * in; i < in; i++) {
                    double v = x[o + i];
                    if (!Float32Range.holds(v)) {
                        throw new SprnnException(Float32Range.refusal("input", v, String.valueOf(v), "[" + p + "][" + q + "][" + i + "]"));
                    }
                }
            }
        }
    }

    private static final Pattern STEP_AND_ELEMENT = Pattern.compile("at step (\\d+) \\(batch element (\\d+)");

    /**
     * An error of a segment's run, its step and batch element (counted within the segment) turned into the
     * whole batch's.
     */
    private static SprnnException remapped(SprnnException e, int start, int[] active) {
        String msg = e.getMessage();
        Matcher m = msg == null ? null : STEP_AND_ELEMENT.matcher(msg);
        if (m == null || !m.find()) {
            return e;
        }
        try {
            int step = Integer.parseInt(m.group(1)) + start, element = active[Integer.parseInt(m.group(2))];
            String fixed = msg.substring(0, m.start()) + "at step " + step + " (batch element " + element + msg.substring(m.end());
            return new SprnnException(fixed, e);
        } catch (RuntimeException notOurs) {
            return e;
        }
    }
}
