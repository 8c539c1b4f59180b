package org.sprnn.engine;

import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

/**
 * A stream of steps through one engine, for online inference: the hidden (and cell) states carry from one
 * {@link #step} to the next, so feeding a sequence in chunks of any length gives what one run of the whole
 * sequence gives ({@code cpu-reference}: bit for bit). Opened by {@link Engine#openSession}; close it
 * (try-with-resources) when the stream ends.
 *
 * <p>Sessions of one engine are independent: each holds its own states, and steps of different sessions may
 * interleave (an engine runs one step call at a time). Using a closed session fails with a
 * {@link org.sprnn.SprnnException} saying so; so does a step after the engine was closed, on engines that
 * refuse to run once closed.
 */
public interface Session extends AutoCloseable {

    /**
     * The batch size every chunk must have.
     *
     * @return the batch size B
     */
    int batch();

    /**
     * The number of steps fed so far.
     *
     * @return the steps fed
     */
    long steps();

    /**
     * Runs the next steps of every sequence of the batch from the current states, and keeps the new ones.
     *
     * @param chunk {@code [t][B][I]} (t ≥ 1 steps; {@code [B][t][I]} for a batch-first engine)
     * @return the outputs of these steps, {@code [t][B][H]} ({@code [B][t][H]} batch-first)
     * @throws org.sprnn.SprnnException on a chunk of the wrong shape or with values float32 cannot hold, an
     *                                  overflow (the states are then left as before the call), or a closed session
     */
    Tensor step(Tensor chunk);

    /**
     * {@link #step} for callers whose data is float32 already. This default runs {@link #step} on a float64 copy and
     * rounds the outputs to float32; a session that computes in float32 (the sparse persistent engine's {@code resident}
     * kind) overrides it to make neither copy.
     *
     * @param chunk {@code [t][B][I]} in float32 (as {@link #step})
     * @return the outputs of these steps in float32, {@code [t][B][H]}
     * @throws org.sprnn.SprnnException as {@link #step}
     */
    default FloatTensor stepFloat(FloatTensor chunk) {
        if (chunk == null) {
            throw new org.sprnn.SprnnException("session: chunk missing");
        }
        return FloatTensor.of(step(chunk.toTensor()));
    }

    /**
     * The current states: after the last step fed, or the initial ones before any.
     *
     * @return {@code hN} {@code [L][B][H]} and, for an LSTM, {@code cN}; {@code output} is the last chunk's
     *         outputs (null before the first step). Before any step, the initial states: those given to
     *         {@link Engine#openSession}, zeros where none was (every engine sprnn builds; an {@link Engine} of
     *         your own that keeps {@code openSession}'s default gives null there). The states are the caller's: a
     *         session copies those it is given and hands out copies, so writing to either does not move it
     *         ({@code output} is the array {@link #step} returned, not a copy).
     * @throws org.sprnn.SprnnException if the session is closed
     */
    RnnOutput state();

    /** Ends the session and drops its states; idempotent. The engine stays open. */
    @Override
    void close();
}
