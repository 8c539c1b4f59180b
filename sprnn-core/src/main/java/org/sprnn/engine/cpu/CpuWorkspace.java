// CpuWorkspace.java — every buffer a cpu engine's run writes, made once per engine and grown to the largest
// (steps, batch) seen, so that a run allocates only its result tensors.
package org.sprnn.engine.cpu;

import static org.sprnn.engine.cpu.CpuLayout.BLOCK;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.sprnn.SprnnException;

/**
 * The per-run buffers of one {@link CpuEngine}, shared by its workers: each worker writes only its part of
 * each (its units, its features, its slot), except where a chunk of units changes hands ({@link CpuRun}).
 * Only the engine's {@code run} touches it, one run at a time.
 */
final class CpuWorkspace {
    private final CpuWeights weights;
    private final int workers;
    private final boolean vectorApi;

    // the per-column buffers (x0, seq, pre, outHistory) grow to the most (step, batch) columns T*B seen by
    // ensureCapacity and are reused by any smaller run, of any batch (a packed run's segments shrink the batch
    // from one run to the next: reallocating and zeroing pre each time cost about as much as the segment);
    // the [H][B] buffers are made for the batch of the run
    private long capColumns;
    private int capBatch;
    MemorySegment x0; // [blocks][I][BLOCK] float, 64-byte aligned (alignedFloats): the model input; column c = t*B + b is x0[c / BLOCK][i][c % BLOCK]
    MemorySegment[] seq; // 2 x [blocks][H][BLOCK] float, 64-byte aligned: layer outputs that feed the next layer, ping-pong
    float[] pre; // [T][G*H][B] input projections + b_ih, rows unit-major, batch innermost
    float[][] state; // 2 x [H][B] hidden state, batch innermost; step t writes state[t & 1]
    float[] outHistory; // [T][H][B] the last layer's h of every step, float; converted to out after the last step
    float[] cellState; // [H][B] LSTM cell state (each worker updates only its units)
    float[] gateSums; // [G*H][B] W_hh h of the current step, rows unit-major (each worker writes its rows)
    float[][] hhBiasByElement; // per layer [H][B] b_hh[u] repeated B times (single-gate cells), so the update runs over [u][b] as one flat loop
    float[][] inputRows; // per worker [BLOCK][its features of the model input]: one block's input rows, float32, which CpuLayout.transposeInput transposes into x0 (Vector API only)

    // per worker, made with the engine
    final float[][][] blockOut; // per worker 2 x [BLOCK] one or two rows' projections of one block, before they go to pre
    final AtomicIntegerArray claims; // [3][workers] x 16: per use (step parity 0/1, projection) and worker, the next chunk of its units to claim
    final boolean[] nonFiniteInput; // [workers] whether worker w found NaN/Inf in its features of the input (this run)
    final CpuOverflow overflow; // per worker, the first value beyond float32 it found (this run)

    CpuWorkspace(CpuWeights weights, int workers, boolean vectorApi) {
        this.weights = weights;
        this.workers = workers;
        this.vectorApi = vectorApi;
        this.blockOut = new float[workers][2][BLOCK];
        this.claims = new AtomicIntegerArray(3 * workers * 16);
        this.nonFiniteInput = new boolean[workers];
        this.overflow = new CpuOverflow(workers, weights.gates, weights.hidden);
    }

    /**
     * Index in {@link #claims} of worker w's counter, one cache line apart: {@code use} 0 and 1 for the
     * steps of that parity, 2 for the input projection.
     */
    int claimSlot(int use, int w) {
        return (use * workers + w) * 16;
    }

    /** Whether a worker found NaN or infinity in its part of the input; valid after the first barrier. */
    boolean anyNonFiniteInput() {
        for (boolean bad : nonFiniteInput) {
            if (bad) {
                return true;
            }
        }
        return false;
    }

    /** Makes every buffer large enough for {@code t} steps at batch {@code b}. */
    void ensureCapacity(int t, int b) {
        int hidden = weights.hidden, gates = weights.gates, inSize = weights.inputSize, numLayers = weights.layers.length;
        if (vectorApi && inputRows == null) {
            inputRows = new float[workers][BLOCK * ((inSize + workers - 1) / workers)];
        }
        long columns = (long) t * b;
        if (columns > capColumns) {
            capColumns = 0; // until every buffer below is made: a run cut short by OutOfMemoryError leaves none half-sized
            long blocks = (columns + BLOCK - 1) / BLOCK;
            long widest = Math.max(blocks * Math.max(inSize, hidden) * BLOCK, columns * gates * hidden);
            if (widest > Integer.MAX_VALUE - 16) {
                throw new SprnnException("input of " + t + " steps x batch " + b + " is too long for the cpu engine's buffers: split the sequence");
            }
            x0 = alignedFloats(blocks * inSize * BLOCK);
            seq = numLayers > 1 ? new MemorySegment[] {alignedFloats(blocks * hidden * BLOCK), alignedFloats(blocks * hidden * BLOCK)}
                    : new MemorySegment[2];
            pre = new float[t * gates * hidden * b];
            outHistory = new float[t * hidden * b];
            capColumns = columns;
        }
        if (b == capBatch) {
            return;
        }
        capBatch = -1; // as capColumns above
        state = new float[][] {new float[hidden * b], new float[hidden * b]};
        cellState = new float[hidden * b];
        gateSums = new float[gates * hidden * b];
        hhBiasByElement = new float[numLayers][];
        if (gates == 1) {
            for (int k = 0; k < numLayers; k++) {
                float[] e = new float[hidden * b];
                for (int i = 0; i < e.length; i++) {
                    e[i] = weights.layers[k].bHh()[i / b];
                }
                hhBiasByElement[k] = e;
            }
        }
        capBatch = b;
    }

    /**
     * A zeroed buffer of {@code n} floats starting on a 64-byte boundary, off the Java heap (freed by the
     * garbage collector once unreachable), for the layer inputs X that the input projection reads in
     * whole 64-byte lines. Why not a {@code float[]}: an array's elements start 16 bytes past its
     * header, so a large array (which G1 places at the start of a region) has every 64-byte load of X
     * straddle two cache lines, and a small one is aligned or not depending on where the collector put
     * it; with straddling loads the projection measured markedly slower (results/cpu/README.md). The state
     * {@code h} stays a {@code float[]}: its 16-byte loads straddle a line only when the array sits 8 bytes off a
     * 16-byte boundary (a few percent of the recurrent loop), and reading it from a segment cost more than that.
     */
    private static MemorySegment alignedFloats(long n) {
        return Arena.ofAuto().allocate(n * Float.BYTES, 64);
    }
}
