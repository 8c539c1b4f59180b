package org.sprnn.engine;

import java.util.Arrays;
import org.sprnn.SprnnException;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/** The one check every engine applies to a run's arguments, so that every engine fails the same way. */
public final class RunInputs {
    private RunInputs() {
    }

    /**
     * Checks input and initial states against the model.
     *
     * @param model the model to be run
     * @param input the input {@code [T][B][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @return the batch size B
     * @throws SprnnException naming the argument, its shape and the expected one
     */
    public static int check(RnnModel model, Tensor input, Tensor h0, Tensor c0) {
        int b = checkExceptInputValues(model, input, h0, c0);
        finite(input.firstOutsideFloat32(), input.shape(), "input", input.data());
        return b;
    }

    /**
     * Checks input, initial states and lengths against the model: as {@link #check(RnnModel, Tensor, Tensor, Tensor)},
     * except that only the input values a run with these lengths reads are tested (padding after a sequence's end is
     * never read, as in PyTorch); {@code lengths} null is that check itself.
     *
     * @param model the model to be run
     * @param input the input {@code [T][B][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @param lengths one length per batch element, or {@code null} for equal-length sequences
     * @return the batch size B
     * @throws SprnnException naming the argument (or {@code lengths[b]}), its shape and the expected one
     */
    public static int check(RnnModel model, Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (lengths == null) {
            return check(model, input, h0, c0);
        }
        int b = checkExceptInputValues(model, input, h0, c0);
        lengths.check(b, input.dim(0));
        LengthSegments.checkReadValues(input, lengths, false);
        return b;
    }

    /**
     * The same check for a float32 run ({@link Engine#runFloat}), plus the output buffer: {@code output},
     * where given, must be {@code [T][B][H]}.
     *
     * @param model the model to be run
     * @param input the float32 input {@code [T][B][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @param output the caller's output buffer {@code [T][B][H]}, or {@code null}
     * @return the batch size B
     * @throws SprnnException naming the argument, its shape and the expected one
     */
    public static int check(RnnModel model, FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        int b = checkExceptInputValues(model, input, h0, c0, output);
        finite(input.firstNonFinite(), input.shape(), "input", input.data());
        return b;
    }

    /**
     * {@link #check(RnnModel, Tensor, Tensor, Tensor)} except the scan of the input's values for NaN and
     * infinity, for an engine that tests them itself while it reads them anyway (the {@code cpu} engine
     * does, in parallel, while it transposes the input). Such an engine must call {@code check} when it
     * finds a non-finite value, so that its message is every engine's.
     *
     * @param model the model to be run
     * @param input the input {@code [T][B][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @return the batch size B
     */
    public static int checkExceptInputValues(RnnModel model, Tensor input, Tensor h0, Tensor c0) {
        int b = checkShapes(model, input == null ? null : input.shape(), h0 == null ? null : h0.shape(),
                c0 == null ? null : c0.shape());
        if (h0 != null) {
            finite(h0.firstOutsideFloat32(), h0.shape(), "h0", h0.data());
        }
        if (c0 != null) {
            finite(c0.firstOutsideFloat32(), c0.shape(), "c0", c0.data());
        }
        return b;
    }

    /**
     * {@link #checkExceptInputValues(RnnModel, Tensor, Tensor, Tensor)} for a float32 run, with the output's shape.
     *
     * @param model the model to be run
     * @param input the float32 input {@code [T][B][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @param output the caller's output buffer {@code [T][B][H]}, or {@code null}
     * @return the batch size B
     */
    public static int checkExceptInputValues(RnnModel model, FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        int b = checkShapes(model, input == null ? null : input.shape(), h0 == null ? null : h0.shape(),
                c0 == null ? null : c0.shape());
        if (output != null && !output.hasShape(input.dim(0), b, model.outputSize())) {
            throw new SprnnException("output has shape " + output.shapeString() + ", expected [" + input.dim(0) + ", " + b
                    + ", " + model.outputSize() + "] (steps, batch, " + (model.bidirectional() ? "2 x hidden)" : "hidden)"));
        }
        if (h0 != null) {
            finite(h0.firstNonFinite(), h0.shape(), "h0", h0.data());
        }
        if (c0 != null) {
            finite(c0.firstNonFinite(), c0.shape(), "c0", c0.data());
        }
        return b;
    }

    /** Shapes only (each argument's shape, or null where absent); returns B. */
    private static int checkShapes(RnnModel model, int[] input, int[] h0, int[] c0) {
        if (input == null) {
            throw new SprnnException("input: missing");
        }
        if (input.length != 3) {
            throw new SprnnException("input has shape " + Arrays.toString(input) + ", expected [T][B][I] (rank 3)");
        }
        int t = input[0], b = input[1], i = input[2];
        if (t < 1 || b < 1) {
            throw new SprnnException("input has shape " + Arrays.toString(input) + ": need T >= 1 and B >= 1");
        }
        if (i != model.inputSize()) {
            throw new SprnnException("input has " + i + " features per step (shape " + Arrays.toString(input)
                    + ") but the model's input size is " + model.inputSize());
        }
        checkSize(model, input);
        int l = model.stateLayers(), h = model.hiddenSize();
        int[] state = {l, b, h};
        String rows = model.bidirectional() ? "(2 x layers, batch, hidden)" : "(layers, batch, hidden)";
        if (h0 != null && !Arrays.equals(h0, state)) {
            throw new SprnnException("h0 has shape " + Arrays.toString(h0) + ", expected [" + l + ", " + b + ", " + h + "] " + rows);
        }
        if (c0 != null) {
            if (!model.cell().hasCellState()) {
                throw new SprnnException("c0 given, but cell " + model.cell() + " has no cell state (only lstm has)");
            }
            if (!Arrays.equals(c0, state)) {
                throw new SprnnException("c0 has shape " + Arrays.toString(c0) + ", expected [" + l + ", " + b + ", " + h + "] " + rows);
            }
        }
        return b;
    }

    /**
     * Throws if {@code bad} (the index of the first element float32 cannot hold: NaN, infinite, or a float64
     * beyond float32's range; or -1) names one.
     */
    private static void finite(int bad, int[] s, String what, Object data) {
        if (bad >= 0) {
            int i2 = bad % s[2], i1 = (bad / s[2]) % s[1], i0 = bad / (s[1] * s[2]);
            double v = data instanceof double[] d ? d[bad] : ((float[]) data)[bad];
            String shown = data instanceof double[] ? String.valueOf(v) : String.valueOf((float) v);
            throw new SprnnException(Float32Range.refusal(what, v, shown, "[" + i0 + "][" + i1 + "][" + i2 + "]"));
        }
    }

    /**
     * The most values one of a run's per-layer arrays may hold: a Java array's limit, which also keeps every
     * element index of the GPU engines' buffers within a 32-bit int.
     */
    public static final long MAX_VALUES_PER_LAYER = Integer.MAX_VALUE - 64;

    /**
     * Refuses a run whose per-layer arrays would not fit one Java array: the input projection
     * {@code [T][B][G*H]} (G gate rows per unit), the outputs {@code [T][B][H]} and the input itself, each
     * rounded up to whole blocks of 64 (T*B) columns as the {@code cpu} engine holds them.
     */
    private static void checkSize(RnnModel model, int[] input) {
        long t = input[0], b = input[1], cols = (t * b + 63) / 64 * 64;
        long width = Math.max((long) model.cell().gates() * model.hiddenSize(), Math.max(model.inputSize(), model.outputSize()));
        if (cols * width > MAX_VALUES_PER_LAYER) {
            throw new SprnnException("input of " + t + " steps x batch " + b + " is too large for one run of this model"
                    + " (cell " + model.cell() + ", hidden " + model.hiddenSize() + ", input size " + model.inputSize() + "): T*B*"
                    + width + " = " + t * b * width + " values per layer, more than the " + MAX_VALUES_PER_LAYER
                    + " one array can hold; run the sequence in pieces, each piece's final states (--final-h/--final-c)"
                    + " the next one's h0/c0");
        }
    }

    /**
     * The initial states of a session of {@code batch} sequences: checked against the model as a run's would be, zeros
     * where not given (and no cell state for cells without one), so that a session's state is readable from the start.
     *
     * @param model the model
     * @param batch the session's batch (≥ 1)
     * @param h0    initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0    initial cell states {@code [L][B][H]}, or {@code null} for zeros (LSTM)
     * @return {@code {h0, c0}}, filled in; {@code c0} null for cells without a cell state
     * @throws SprnnException naming the state that does not fit, or the batch
     */
    public static Tensor[] sessionStates(RnnModel model, int batch, Tensor h0, Tensor c0) {
        if (batch < 1) {
            throw new SprnnException("session: batch must be >= 1, got " + batch);
        }
        checkExceptInputValues(model, Tensor.zeros(1, batch, model.inputSize()), h0, c0);
        int l = model.numLayers(), h = model.hiddenSize();
        return new Tensor[] {h0 != null ? h0.copy() : Tensor.zeros(l, batch, h), // copies: the caller's arrays stay theirs
            c0 != null ? c0.copy() : model.cell().hasCellState() ? Tensor.zeros(l, batch, h) : null};
    }

    /**
     * Checks a session's chunk against the session's batch: present, {@code [steps >= 1][batch][input]} (the input size
     * and values are the engine's run's to check).
     *
     * @param chunk the chunk a {@link Session#step} was given
     * @param batch the session's batch size
     * @throws SprnnException naming what is wrong
     */
    public static void checkSessionChunk(Tensor chunk, int batch) {
        checkSessionChunk(chunk == null ? null : chunk.shape(), batch);
    }

    /**
     * {@link #checkSessionChunk(Tensor, int)} of a float32 chunk ({@link Session#stepFloat}).
     *
     * @param chunk the chunk a {@link Session#stepFloat} was given
     * @param batch the session's batch size
     * @throws SprnnException naming what is wrong
     */
    public static void checkSessionChunk(FloatTensor chunk, int batch) {
        checkSessionChunk(chunk == null ? null : chunk.shape(), batch);
    }

    private static void checkSessionChunk(int[] shape, int batch) {
        if (shape == null) {
            throw new SprnnException("session: chunk missing");
        }
        if (shape.length != 3 || shape[1] != batch || shape[0] < 1) {
            throw new SprnnException("session: chunk has shape " + Arrays.toString(shape) + ", expected [steps >= 1, " + batch
                    + ", input] for a session of batch " + batch);
        }
    }

    /**
     * What a closed session's use throws.
     *
     * @param steps the steps the session was fed before it was closed
     * @return the exception to throw
     */
    public static SprnnException sessionClosed(long steps) {
        return new SprnnException("session: closed (after " + steps + " steps); open a new one with engine.openSession");
    }
}
