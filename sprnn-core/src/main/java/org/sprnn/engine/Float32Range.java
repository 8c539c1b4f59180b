// Float32Range.java — the numeric contract every engine holds, written once. sprnn computes in float32
// (every engine but the float64 oracle, which is held to the same bounds so that its answers are ones a
// float32 engine could give): values that float32 cannot hold are refused on the way in, and a value
// that leaves float32's range on the way is an error naming the layer and step, never a NaN or an
// infinity returned with success.
package org.sprnn.engine;

import org.sprnn.SprnnException;

/**
 * The float32 contract of a run: an engine returns finite values, or fails with an error naming what left
 * float32's range, where, and in which layer and step; never NaN or infinity with success.
 *
 * <ul>
 *   <li>In: weights, biases, inputs and initial states must be finite and within float32's range
 *       ({@code |v| <= }{@link Float#MAX_VALUE}); a float64 value such as {@code 1e300} is refused as out of
 *       range (not as "non-finite"), naming the tensor and the element.</li>
 *   <li>On the way, {@code cpu-reference} and {@code cpu} fail with an {@code overflow} error naming the
 *       layer, step, batch element and gate row or unit of the first value float32 cannot hold, in the order
 *       (layer, step, batch element, what): an input projection {@code W_ih x + b_ih}, a recurrent product
 *       {@code W_hh h + b_hh}, a hidden or cell state. So a saturating cell (tanh, GRU, LSTM) whose
 *       pre-activation overflows is an error there, not a silently saturated value, and both name the same
 *       place. One difference remains: {@code cpu} sums a product in float32, so where partial sums
 *       overflow on the way to a total float32 can hold (+3e38 +3e38 -3e38), it refuses what the float64
 *       reference computes.</li>
 *   <li>The GPU engines test every value they return (the last layer's outputs, every layer's final
 *       states) and fail with an {@code overflow} error naming the first one. An overflow they do not
 *       return goes unseen: in a lower layer that a higher ReLU layer maps back to zero, or in a
 *       pre-activation that a saturating cell maps to ±1. {@code cuda-sparse-persistent} carries h between
 *       steps in fp16 (and {@code cuda-gemm}/{@code cuda-spmm} at fp16): an h beyond fp16's 65504 is an
 *       overflow there; the persistent engine refuses such an h0 and an output beyond it at any step but the
 *       last ({@link #requireFp16Exchange}), and in its sessions at the last step too ({@link #requireFp16Carry}); in a
 *       lower layer of a stack it goes unseen.</li>
 * </ul>
 */
public final class Float32Range {
    /** What a run states about the range, for messages. */
    public static final String RANGE = "float32's range (|v| <= 3.4028235E38)";

    private Float32Range() {
    }

    /**
     * Whether float32 can hold {@code v}: it rounds to a finite float32 (false for NaN, infinities and
     * float64 values beyond {@code ±Float.MAX_VALUE} by more than half a float32 ulp; {@code 3.4028235e38}
     * itself is held).
     *
     * @param v the value
     * @return whether {@code (float) v} is finite
     */
    public static boolean holds(double v) {
        return Float.isFinite((float) v);
    }

    /**
     * The index of the first value of {@code a} that float32 cannot hold (NaN, infinite, or too large), or -1.
     *
     * @param a the values
     * @return the index of the first value outside float32's range, or -1
     */
    public static int firstOutside(double[] a) {
        for (int i = 0; i < a.length; i++) {
            if (!holds(a[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The index of the first NaN or infinite value of {@code a} in {@code [from, from + n)}, or -1. Tests
     * 4,096 values at a time by their largest magnitude (NaN propagates through {@code Math.max}), as
     * {@link org.sprnn.model.FloatTensor#firstNonFinite} does, and looks for the index only in a chunk
     * that holds one.
     *
     * @param a the values
     * @param from the first index tested
     * @param n how many values are tested
     * @return the index of the first non-finite value in the range, or -1
     */
    public static int firstNonFinite(float[] a, int from, int n) {
        for (int c = from, end = from + n, e; c < end; c = e) {
            e = c + Math.min(4096, end - c);
            float widest = 0f;
            for (int i = c; i < e; i++) {
                widest = Math.max(widest, Math.abs(a[i]));
            }
            if (!(widest <= Float.MAX_VALUE)) {
                for (int i = c; i < e; i++) {
                    if (!Float.isFinite(a[i])) {
                        return i;
                    }
                }
            }
        }
        return -1;
    }

    /**
     * The refusal of a value on the way in: {@code input holds a non-finite value (NaN) at [0][1][2]}, or
     * {@code input holds 1.0E300 at [0][1][2], beyond float32's range (...): sprnn computes in float32}.
     *
     * @param what  the tensor, e.g. {@code input}
     * @param v     the value
     * @param shown the value as the message shows it (a float32's own digits for float32 data)
     * @param where the element, e.g. {@code [0][1][2]}
     * @return the message
     */
    public static String refusal(String what, double v, String shown, String where) {
        if (!Double.isFinite(v)) {
            return what + " holds a non-finite value (" + shown + ") at " + where;
        }
        return what + " holds " + shown + " at " + where + ", beyond " + RANGE + ": sprnn computes in float32";
    }

    /** {@link #overflow}'s {@code what} for {@code W_ih x_t + b_ih}, element = gate row. */
    public static final String INPUT_PROJECTION = "input projection (W_ih x + b_ih)";
    /** {@link #overflow}'s {@code what} for {@code W_hh h_{t-1} + b_hh}, element = gate row. */
    public static final String RECURRENT_PRODUCT = "recurrent product (W_hh h + b_hh)";
    /** {@link #overflow}'s {@code what} for h, element = unit. */
    public static final String HIDDEN_STATE = "hidden state";
    /** {@link #overflow}'s {@code what} for the LSTM's c, element = unit. */
    public static final String CELL_STATE = "cell state";

    /**
     * The error of a value that left float32's range.
     *
     * @param what    which value: {@link #INPUT_PROJECTION}, {@link #RECURRENT_PRODUCT} (element: the gate row,
     *                PyTorch's order), {@link #HIDDEN_STATE}, {@link #CELL_STATE} (element: the unit)
     * @param layer   the layer (0 = first)
     * @param step    the timestep (0 = first)
     * @param batch the batch element
     * @param element the gate row or unit
     * @param value   the value found (NaN, infinite or too large)
     * @return the exception to throw, naming every coordinate and the value
     */
    public static SprnnException overflow(String what, int layer, int step, int batch, int element, double value) {
        String el = what.equals(HIDDEN_STATE) || what.equals(CELL_STATE) ? "unit " : "gate row ";
        return new SprnnException("overflow: layer " + layer + "'s " + what + " at step " + step + " (batch element " + batch
                + ", " + el + element + ") is " + value + ", beyond " + RANGE
                + ": the weights or inputs are too large for float32 arithmetic");
    }

    /**
     * Tests what a GPU engine returns: the last layer's outputs {@code [T][B][H]} and every layer's final
     * states {@code [L][B][H]}; returns {@code out} or throws naming the first value found (the output at
     * the lowest step first).
     *
     * @param out the engine's result
     * @return {@code out}
     * @throws SprnnException naming the layer, step, batch element and unit
     */
    public static RnnOutput requireInRange(RnnOutput out) {
        // the final states are tested against float32's range; the output too, whose first bad value names the step
        int[] s = out.output().shape();
        int steps = s[0], batch = s[1], hidden = s[2];
        requireOutputInRange(out.output(), out.hN().dim(0));
        checkStates(out.hN(), HIDDEN_STATE, steps, batch, hidden);
        if (out.cN() != null) {
            checkStates(out.cN(), CELL_STATE, steps, batch, hidden);
        }
        return out;
    }

    /**
     * The output half of {@link #requireInRange}: throws naming the first value of {@code output} outside float32's range.
     *
     * @param output the outputs {@code [T][B][H]} of the last layer
     * @param layers the model's layers (the last one is named)
     * @throws SprnnException naming the layer, step, batch element and unit
     */
    public static void requireOutputInRange(org.sprnn.model.Tensor output, int layers) {
        int[] s = output.shape();
        int batch = s[1], hidden = s[2];
        int bad = firstOutside(output.data());
        if (bad >= 0) {
            throw new SprnnException("overflow: the output (layer " + (layers - 1) + ", the last) at step " + bad / (batch * hidden)
                    + " (batch element " + bad / hidden % batch + ", unit " + bad % hidden + ") is " + output.data()[bad]
                    + ": a state of this layer or of one below it left the range this engine computes in (float32's;"
                    + " h between steps in fp16, |h| <= 65504, where the engine carries it so): the weights or inputs are too large");
        }
    }

    /**
     * Throws naming the first value of {@code states} outside float32's range.
     *
     * @param states the final states {@code [L][B][H]}
     * @param what {@link #HIDDEN_STATE} or {@link #CELL_STATE}
     * @param steps the steps run (the last one is named)
     * @throws SprnnException naming the layer, step, batch element and unit
     */
    public static void requireStatesInRange(org.sprnn.model.Tensor states, String what, int steps) {
        checkStates(states, what, steps, states.dim(1), states.dim(2));
    }

    /** The largest finite fp16 value: beyond it, an h an engine carries between steps in fp16 becomes infinite. */
    public static final double FP16_MAX = 65504;

    /**
     * Tests a run of an engine that carries h between steps in fp16 ({@code cuda-sparse-persistent}): an
     * output beyond {@link #FP16_MAX} at any step but the last means the next step read an infinite h,
     * which the kernel's arithmetic can turn into any finite value (a ReLU of NaN is 0), so the run fails
     * naming that step. The last step's outputs and the final states are returned as computed (in fp32).
     *
     * @param out the engine's result
     * @param engine the engine's name, for the message
     * @return {@code out}
     * @throws SprnnException naming the layer (the last), step, batch element and unit
     */
    public static RnnOutput requireFp16Exchange(RnnOutput out, String engine) {
        requireFp16Exchange(out.output(), out.hN().dim(0), engine);
        return out;
    }

    /**
     * A session's last step: its h goes on to the session's next step in fp16 where {@link #requireFp16Exchange} (which
     * spares the last step of a run: nothing reads it in fp16) lets it by.
     *
     * @param output the outputs {@code [t][B][H]} of the last layer of a session's step
     * @param layers the model's layers (the last one is named)
     * @param engine the engine's name, for the message
     * @throws SprnnException naming the layer (the last), step, batch element and unit of an h beyond fp16's range
     */
    public static void requireFp16Carry(org.sprnn.model.Tensor output, int layers, String engine) {
        int[] s = output.shape();
        requireFp16(output, (s[0] - 1) * s[1] * s[2], output.data().length, layers, engine + " carries h to the session's next step");
    }

    /**
     * {@link #requireFp16Exchange(RnnOutput, String)} of an output alone.
     *
     * @param output the outputs {@code [T][B][H]} of the last layer
     * @param layers the model's layers (the last one is named)
     * @param engine the engine's name, for the message
     * @throws SprnnException naming the layer (the last), step, batch element and unit
     */
    public static void requireFp16Exchange(org.sprnn.model.Tensor output, int layers, String engine) {
        int[] s = output.shape();
        requireFp16(output, 0, (s[0] - 1) * s[1] * s[2], layers, engine + " carries h to the next step");
    }

    /** Throws naming the first output of {@code [from, to)} beyond fp16's range, in which {@code carrier} (the message's words). */
    private static void requireFp16(org.sprnn.model.Tensor output, int from, int to, int layers, String carrier) {
        int[] s = output.shape();
        int batch = s[1], hidden = s[2];
        double[] y = output.data();
        for (int i = from; i < to; i++) {
            if (!(Math.abs(y[i]) <= FP16_MAX)) {
                throw new SprnnException("overflow: the output (layer " + (layers - 1) + ", the last) at step " + i / (batch * hidden)
                        + " (batch element " + i / hidden % batch + ", unit " + i % hidden + ") is " + y[i] + ", beyond fp16's range (|h| <= 65504), in which "
                        + carrier + ": the weights or inputs are too large for it (cpu or cuda-gemm fp32 compute in float32)");
            }
        }
    }

    /**
     * Refuses initial states an engine that carries h in fp16 cannot hold.
     *
     * @param h0 the initial hidden states {@code [L][B][H]}, or {@code null}
     * @param engine the engine's name, for the message
     * @throws SprnnException naming h0's element
     */
    public static void requireFp16(org.sprnn.model.Tensor h0, String engine) {
        if (h0 == null) {
            return;
        }
        double[] d = h0.data();
        int[] s = h0.shape();
        for (int i = 0; i < d.length; i++) {
            if (!(Math.abs(d[i]) <= FP16_MAX)) {
                throw new SprnnException("h0 holds " + d[i] + " at [" + i / (s[1] * s[2]) + "][" + i / s[2] % s[1] + "][" + i % s[2]
                        + "], beyond fp16's range (|h| <= 65504), in which " + engine + " carries h between steps");
            }
        }
    }

    private static void checkStates(org.sprnn.model.Tensor states, String what, int steps, int batch, int hidden) {
        int bad = firstOutside(states.data());
        if (bad >= 0) {
            throw overflow(what, bad / (batch * hidden), steps - 1, bad / hidden % batch, bad % hidden, states.data()[bad]);
        }
    }
}
