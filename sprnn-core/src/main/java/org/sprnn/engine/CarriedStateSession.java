package org.sprnn.engine;

import java.util.Arrays;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * The session every engine has ({@link Engine#openSession}'s default): each {@link #step} is one
 * {@link Engine#run} of the chunk from the states the previous step left, which the session holds on the Java
 * heap. Exact: a run continued from its final states is the same run ({@link LengthSegments} relies on the
 * same fact).
 */
final class CarriedStateSession implements Session {
    private final Engine engine;
    private final int batch;
    private Tensor h; // [L][B][H] the current hidden states, or null (zeros) before the first step
    private Tensor c; // [L][B][H] the current cell states (LSTM), or null
    private Tensor lastOutput; // [t][B][H] the last chunk's outputs, or null
    private long steps;
    private boolean closed;

    CarriedStateSession(Engine engine, int batch, Tensor h0, Tensor c0) {
        if (batch < 1) {
            throw new SprnnException("session: batch must be >= 1, got " + batch);
        }
        checkState("h0", h0, batch);
        checkState("c0", c0, batch);
        this.engine = engine;
        this.batch = batch;
        this.h = h0; // the session's own copies (Engine.openSession, RunInputs.sessionStates): the caller's arrays stay theirs
        this.c = c0;
    }

    private static void checkState(String what, Tensor s, int batch) {
        if (s != null && (s.rank() != 3 || s.dim(1) != batch)) {
            throw new SprnnException("session: " + what + " has shape " + s.shapeString() + ", expected [layers, " + batch
                    + ", hidden] for a session of batch " + batch);
        }
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
        RnnOutput r = engine.run(chunk, h, c);
        h = r.hN();
        c = r.cN();
        lastOutput = r.output();
        steps += chunk.dim(0);
        return r.output();
    }

    @Override
    public synchronized RnnOutput state() {
        requireOpen();
        return new RnnOutput(lastOutput, Tensor.copyOf(h), Tensor.copyOf(c)); // states copied: writing to them does not move the session
    }

    private void requireOpen() {
        if (closed) {
            throw RunInputs.sessionClosed(steps);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        h = null;
        c = null;
        lastOutput = null;
    }

    @Override
    public String toString() {
        return "session of " + engine.name() + ", batch " + batch + ", " + steps + " steps" + (closed ? ", closed" : "")
                + (h == null ? "" : ", state " + Arrays.toString(h.shape()));
    }
}
