package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One configured cuBLASLt product, in cuBLAS's column-major terms:
 * {@code D[m×n] = epilogue(op(A)[m×k] · B[k×n] + beta·C[m×n] (+ bias[m]))}, with A of type
 * {@code abType} (and B too), C and D of type {@code cdType}, fp32 accumulation and scale.
 *
 * <p>Made once (descriptors, layouts, heuristic algorithms); {@link #selectFastest} times the
 * candidates on the real buffers and keeps the fastest; {@link #run} only enqueues (graph-capturable).
 */
public final class GemmPlan implements AutoCloseable {

    /**
     * The product's shape and types.
     *
     * @param m        rows of D
     * @param n        columns of D
     * @param k        inner dimension
     * @param transA   whether A is stored transposed ({@code [k×m]} column-major, i.e. a row-major {@code [m][k]})
     * @param lda      leading dimension of A as stored
     * @param ldb      leading dimension of B ({@code [k×n]} column-major)
     * @param ldd      leading dimension of C and D
     * @param abType   cudaDataType of A and B
     * @param cdType   cudaDataType of C and D
     * @param epilogue cublasLtEpilogue_t
     * @param beta     0 (ignore C) or 1 (add C)
     * @param alignment the alignment in bytes (a power of two ≤ 256) every A, B, C, D address passed to
     *                 {@link #run} is guaranteed to have; the heuristic only offers algorithms that accept it
     */
    public record Spec(int m, int n, int k, boolean transA, int lda, int ldb, int ldd, int abType, int cdType,
                       int epilogue, float beta, int alignment) {
        public Spec {
            if (alignment < 1 || alignment > 256 || Integer.bitCount(alignment) != 1) {
                throw new IllegalArgumentException("GEMM alignment " + alignment + ": a power of two <= 256");
            }
            if (m < 1 || n < 1 || k < 1) {
                throw new IllegalArgumentException("GEMM shape m=" + m + " n=" + n + " k=" + k + ": all must be >= 1");
            }
            if (lda < (transA ? k : m) || ldb < k || ldd < m) {
                throw new IllegalArgumentException("GEMM leading dimensions too small: " + this);
            }
        }
    }

    private final CudaContext ctx;
    private final CublasLt lt;
    private final CublasLt.Handle handle;
    private final Spec spec;
    private final DeviceBuffer workspace;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment desc, aLayout, bLayout, cLayout, pref; // cuBLASLt descriptors
    private final MemorySegment alpha, beta;   // float scalars (host pointer mode)
    private final List<MemorySegment> algos;   // candidate cublasLtMatmulAlgo_t (64 bytes each), heuristic order
    private MemorySegment algo;                // the chosen one
    private boolean closed;

    /**
     * Configures the product and asks the heuristic for up to {@code candidates} algorithms.
     *
     * @param biasPtr device address of the bias vector (length m, type cdType) for BIAS epilogues, else 0
     * @throws CudaException if cuBLASLt has no algorithm for this configuration
     */
    public GemmPlan(CudaContext ctx, CublasLt.Handle handle, Spec spec, long biasPtr, DeviceBuffer workspace, int candidates) {
        this.ctx = ctx;
        this.lt = handle.lib();
        this.handle = handle;
        this.spec = spec;
        this.workspace = workspace;
        ctx.makeCurrent();
        desc = lt.cublasLtMatmulDescCreate.checkOut(CublasLt.COMPUTE_32F, CublasLt.CUDA_R_32F);
        setInt(desc, CublasLt.DESC_TRANSA, spec.transA() ? CublasLt.OP_T : CublasLt.OP_N);
        setInt(desc, CublasLt.DESC_TRANSB, CublasLt.OP_N);
        setInt(desc, CublasLt.DESC_EPILOGUE, spec.epilogue());
        if (biasPtr != 0) {
            MemorySegment v = arena.allocate(JAVA_LONG);
            v.set(JAVA_LONG, 0, biasPtr);
            lt.cublasLtMatmulDescSetAttribute.check(desc, CublasLt.DESC_BIAS_POINTER, v, 8L);
        }
        aLayout = spec.transA()
                ? lt.cublasLtMatrixLayoutCreate.checkOut(spec.abType(), (long) spec.k(), (long) spec.m(), (long) spec.lda())
                : lt.cublasLtMatrixLayoutCreate.checkOut(spec.abType(), (long) spec.m(), (long) spec.k(), (long) spec.lda());
        bLayout = lt.cublasLtMatrixLayoutCreate.checkOut(spec.abType(), (long) spec.k(), (long) spec.n(), (long) spec.ldb());
        cLayout = lt.cublasLtMatrixLayoutCreate.checkOut(spec.cdType(), (long) spec.m(), (long) spec.n(), (long) spec.ldd());
        pref = lt.cublasLtMatmulPreferenceCreate.checkOut();
        MemorySegment ws = arena.allocate(JAVA_LONG);
        ws.set(JAVA_LONG, 0, workspace.bytes());
        lt.cublasLtMatmulPreferenceSetAttribute.check(pref, CublasLt.PREF_MAX_WORKSPACE_BYTES, ws, 8L);
        MemorySegment align = arena.allocate(JAVA_INT);
        align.set(JAVA_INT, 0, spec.alignment());
        for (int attr = CublasLt.PREF_MIN_ALIGNMENT_A_BYTES; attr <= CublasLt.PREF_MIN_ALIGNMENT_D_BYTES; attr++) {
            lt.cublasLtMatmulPreferenceSetAttribute.check(pref, attr, align, 4L);
        }
        alpha = arena.allocate(JAVA_FLOAT);
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta = arena.allocate(JAVA_FLOAT);
        beta.set(JAVA_FLOAT, 0, spec.beta());
        MemorySegment results = arena.allocate(CublasLt.HEURISTIC_RESULT_BYTES * candidates, 8);
        MemorySegment count = arena.allocate(JAVA_INT);
        lt.cublasLtMatmulAlgoGetHeuristic.check(handle.get(), desc, aLayout, bLayout, cLayout, cLayout, pref,
                candidates, results, count);
        algos = new ArrayList<>();
        for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
            MemorySegment r = results.asSlice(CublasLt.HEURISTIC_RESULT_BYTES * i, CublasLt.HEURISTIC_RESULT_BYTES);
            int state = r.get(JAVA_INT, CublasLt.ALGO_BYTES + 8);
            long need = r.get(JAVA_LONG, CublasLt.ALGO_BYTES);
            if (state == 0 && need <= workspace.bytes()) {
                algos.add(r.asSlice(0, CublasLt.ALGO_BYTES));
            }
        }
        if (algos.isEmpty()) {
            close();
            throw new CudaException("cublasLtMatmulAlgoGetHeuristic found no algorithm for " + spec);
        }
        algo = algos.get(0);
    }

    private void setInt(MemorySegment d, int attr, int value) {
        MemorySegment v = arena.allocate(JAVA_INT);
        v.set(JAVA_INT, 0, value);
        lt.cublasLtMatmulDescSetAttribute.check(d, attr, v, 4L);
    }

    /** The largest power of two ≤ 256 that divides {@code bytes} (0 → 256): the alignment of base + i·bytes. */
    public static int alignmentOf(long bytes) {
        return bytes == 0 ? 256 : (int) Math.min(256, Long.lowestOneBit(bytes));
    }

    /** The configuration. */
    public Spec spec() {
        return spec;
    }

    /** How many algorithms the heuristic offered (and {@link #selectFastest} chose among). */
    public int candidateCount() {
        return algos.size();
    }

    /** Enqueues {@code D = epilogue(op(A)·B + beta·C)} on {@code stream}. */
    public void run(CudaStream stream, long a, long b, long c, long d) {
        if (closed) {
            throw new IllegalStateException("GEMM plan used after close");
        }
        lt.cublasLtMatmul.check(handle.get(), desc, alpha, a, aLayout, b, bLayout, beta, c, cLayout, d, cLayout, algo,
                workspace.ptr(), workspace.bytes(), stream.handle());
    }

    /**
     * Times every candidate algorithm on these buffers the way the engines run it, inside a CUDA graph
     * ({@code reps} back-to-back products captured once, the graph replayed three times, CUDA events,
     * best replay), and keeps the fastest. D is overwritten; callers run this before any real work.
     *
     * @return the fastest candidate's time per product in microseconds
     */
    public double selectFastest(CudaStream stream, long a, long b, long c, long d, int reps) {
        double best = Double.MAX_VALUE;
        MemorySegment bestAlgo = algos.get(0);
        for (MemorySegment cand : algos) {
            algo = cand;
            double us;
            try {
                us = GraphTimer.microsPerCall(ctx, stream, reps, () -> run(stream, a, b, c, d));
            } catch (CudaException e) {
                continue; // a candidate that refuses to run is simply not chosen
            }
            if (us < best) {
                best = us;
                bestAlgo = cand;
            }
        }
        algo = bestAlgo;
        return best;
    }

    /** Destroys the descriptors; idempotent. The handle and workspace belong to the caller. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (pref != null) {
            lt.cublasLtMatmulPreferenceDestroy.check(pref);
        }
        for (MemorySegment l : new MemorySegment[] {aLayout, bLayout, cLayout}) {
            if (l != null) {
                lt.cublasLtMatrixLayoutDestroy.check(l);
            }
        }
        if (desc != null) {
            lt.cublasLtMatmulDescDestroy.check(desc);
        }
        arena.close();
    }
}
