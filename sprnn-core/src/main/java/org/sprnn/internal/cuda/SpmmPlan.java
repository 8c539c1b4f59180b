package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One configured cuSPARSE SpMM: {@code C[m×n] = A[m×k] · B[k×n]} with A in CSR (32-bit offsets and
 * column indices, values of {@code valueType}) and B, C dense, row-major (batch innermost), fp32
 * accumulation, C of {@code outputType} (fp32, or the value type).
 *
 * <p>Made once; {@link #selectFastest} tries the CSR algorithms on the real buffers and keeps the
 * fastest that runs; {@link #run} sets B's and C's addresses (host-side descriptor updates) and
 * enqueues, so it can be captured into a graph step after step.
 */
public final class SpmmPlan implements AutoCloseable {
    /** Algorithms tried, by name. */
    public static final Map<String, Integer> ALGORITHMS = new LinkedHashMap<>();

    static {
        ALGORITHMS.put("CSR_ALG3", Cusparse.SPMM_CSR_ALG3);
        ALGORITHMS.put("CSR_ALG2", Cusparse.SPMM_CSR_ALG2);
        ALGORITHMS.put("CSR_ALG1", Cusparse.SPMM_CSR_ALG1);
        ALGORITHMS.put("DEFAULT", Cusparse.SPMM_ALG_DEFAULT);
    }

    private final CudaContext ctx;
    private final Cusparse sp;
    private final Cusparse.Handle handle;
    private final int m, n, k;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment matA, matB, matC; // cusparseSpMatDescr_t, cusparseDnMatDescr_t ×2
    private final MemorySegment alpha, beta;      // fp32 scalars
    private final Map<Integer, DeviceBuffer> buffers = new LinkedHashMap<>(); // per-algorithm external buffer
    private int alg = -1;
    private String algName = "none";
    private boolean closed;

    /**
     * @param rowOffsets device int32 {@code [m+1]}
     * @param colIndices device int32 {@code [nnz]}
     * @param values     device {@code [nnz]} of {@code valueType}
     * @param bInit      a device {@code [k][n]} buffer of {@code valueType} for the descriptor (any valid one)
     * @param cInit      a device {@code [m][n]} buffer of {@code outputType}
     */
    public SpmmPlan(CudaContext ctx, Cusparse.Handle handle, int m, int n, int k, long nnz, long rowOffsets,
                    long colIndices, long values, int valueType, int outputType, long bInit, long cInit) {
        this.ctx = ctx;
        this.sp = handle.lib();
        this.handle = handle;
        this.m = m;
        this.n = n;
        this.k = k;
        ctx.makeCurrent();
        matA = sp.cusparseCreateCsr.checkOut((long) m, (long) k, nnz, rowOffsets, colIndices, values,
                Cusparse.INDEX_32I, Cusparse.INDEX_32I, Cusparse.INDEX_BASE_ZERO, valueType);
        matB = sp.cusparseCreateDnMat.checkOut((long) k, (long) n, (long) n, bInit, valueType, Cusparse.ORDER_ROW);
        matC = sp.cusparseCreateDnMat.checkOut((long) m, (long) n, (long) n, cInit, outputType, Cusparse.ORDER_ROW);
        alpha = arena.allocate(JAVA_FLOAT);
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta = arena.allocate(JAVA_FLOAT);
        beta.set(JAVA_FLOAT, 0, 0f);
    }

    /** The algorithm in use, e.g. {@code CSR_ALG3}. */
    public String algorithm() {
        return algName;
    }

    private void prepare(int algorithm) {
        if (buffers.containsKey(algorithm)) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            sp.cusparseSpMM_bufferSize.check(handle.get(), Cusparse.OP_NON_TRANSPOSE, Cusparse.OP_NON_TRANSPOSE, alpha,
                    matA, matB, beta, matC, CublasLt.CUDA_R_32F, algorithm, size);
            DeviceBuffer buf = ctx.allocate(Math.max(256, size.get(JAVA_LONG, 0)), "cuSPARSE SpMM workspace");
            buffers.put(algorithm, buf);
            if (algorithm == Cusparse.SPMM_CSR_ALG1 || algorithm == Cusparse.SPMM_CSR_ALG3) {
                sp.cusparseSpMM_preprocess.check(handle.get(), Cusparse.OP_NON_TRANSPOSE, Cusparse.OP_NON_TRANSPOSE,
                        alpha, matA, matB, beta, matC, CublasLt.CUDA_R_32F, algorithm, buf.ptr());
            }
        }
    }

    /** Enqueues {@code C = A·B} on the handle's stream with B at {@code b} and C at {@code c}. */
    public void run(long b, long c) {
        if (closed || alg < 0) {
            throw new IllegalStateException(closed ? "SpMM plan used after close" : "SpMM plan has no algorithm yet");
        }
        sp.cusparseDnMatSetValues.check(matB, b);
        sp.cusparseDnMatSetValues.check(matC, c);
        sp.cusparseSpMM.check(handle.get(), Cusparse.OP_NON_TRANSPOSE, Cusparse.OP_NON_TRANSPOSE, alpha, matA, matB,
                beta, matC, CublasLt.CUDA_R_32F, alg, buffers.get(alg).ptr());
    }

    /**
     * Times each algorithm of {@link #ALGORITHMS} inside a CUDA graph ({@code reps} products captured
     * once, replayed, CUDA events; see {@link GraphTimer}) and keeps the fastest that runs.
     *
     * @return algorithm name → mean µs per run (absent where it refused)
     * @throws CudaException if no algorithm runs for this configuration
     */
    public Map<String, Double> selectFastest(CudaStream stream, long b, long c, int reps) {
        handle.setStream(stream);
        Map<String, Double> times = new LinkedHashMap<>();
        List<String> refusals = new ArrayList<>();
        double best = Double.MAX_VALUE;
        for (Map.Entry<String, Integer> e : ALGORITHMS.entrySet()) {
            try {
                prepare(e.getValue());
                alg = e.getValue();
                double us = GraphTimer.microsPerCall(ctx, stream, reps, () -> run(b, c));
                times.put(e.getKey(), us);
                if (us < best) {
                    best = us;
                    algName = e.getKey();
                }
            } catch (CudaException ex) {
                refusals.add(e.getKey() + ": " + ex.getMessage());
            }
        }
        if (times.isEmpty()) {
            alg = -1;
            throw new CudaException("cusparseSpMM: no CSR algorithm runs for m=" + m + " n=" + n + " k=" + k + ": " + refusals);
        }
        alg = ALGORITHMS.get(algName);
        return times;
    }

    /** Destroys the descriptors and frees the workspaces; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (DeviceBuffer b : buffers.values()) {
            b.close();
        }
        sp.cusparseDestroyDnMat.check(matC);
        sp.cusparseDestroyDnMat.check(matB);
        sp.cusparseDestroySpMat.check(matA);
        arena.close();
    }
}
