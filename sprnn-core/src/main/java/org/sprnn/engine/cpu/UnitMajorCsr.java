package org.sprnn.engine.cpu;

import org.sprnn.model.Tensor;
import org.sprnn.sparse.CsrMatrix;

/**
 * A gate matrix ({@code W_ih} or {@code W_hh}) as the {@code cpu} engine streams it: CSR rows in
 * unit-major order with 16-bit column indices.
 *
 * <p>Not a second input form: a layout derived from the one sparse form, {@link CsrMatrix}, by
 * {@link #pack}, which only reorders its rows and narrows its column indices, so it holds exactly the
 * CsrMatrix's nonzeros (those nonzero in float32), in the same order within a row.
 *
 * <p>Unit-major: packed row {@code u*G + g} is PyTorch row {@code g*H + u}, so the G gate rows of one
 * hidden unit are adjacent and the worker that owns unit {@code u} computes all its gates and its cell
 * update with no exchange. Column indices are {@code char} (unsigned 16-bit): each nonzero costs 6 bytes
 * (fp32 value + index), and the factory refuses matrices wider than 65,536 columns.
 *
 * @param rows   G*H
 * @param cols   input width (I or H), at most {@link #MAX_COLS}
 * @param rowPtr [rows + 1] offsets into col/val
 * @param col    [nnz] column indices, increasing within a row
 * @param val    [nnz] fp32 values, never zero
 */
record UnitMajorCsr(int rows, int cols, int[] rowPtr, char[] col, float[] val) {
    /** The widest matrix a 16-bit column index can address. */
    static final int MAX_COLS = 1 << 16;

    /** Packs {@code csr [G*H][cols]} (PyTorch row order) unit-major; its columns must fit {@link #MAX_COLS}. */
    static UnitMajorCsr pack(CsrMatrix csr, int gates, int hidden) {
        int rows = gates * hidden;
        int[] srcPtr = csr.rowPtrView(), srcCol = csr.colIdxView();
        float[] srcVal = csr.valuesView();
        int[] rowPtr = new int[rows + 1];
        char[] col = new char[csr.nnz()];
        float[] val = new float[csr.nnz()];
        int k = 0;
        for (int u = 0; u < hidden; u++) {
            for (int g = 0; g < gates; g++) {
                int src = g * hidden + u;
                for (int s = srcPtr[src]; s < srcPtr[src + 1]; s++) {
                    col[k] = (char) srcCol[s];
                    val[k] = srcVal[s];
                    k++;
                }
                rowPtr[u * gates + g + 1] = k;
            }
        }
        return new UnitMajorCsr(rows, csr.cols(), rowPtr, col, val);
    }

    /** Nonzeros of hidden unit {@code u}'s G rows. */
    int unitNnz(int u, int gates) {
        return rowPtr[(u + 1) * gates] - rowPtr[u * gates];
    }

    /** Nonzeros stored. */
    int nnz() {
        return val.length;
    }

    /** Bytes streamed to visit every nonzero once: 4 (value) + 2 (index) each. */
    long streamedBytes() {
        return 6L * val.length;
    }

    /** Reorders a PyTorch-ordered vector {@code [G*H]} (a bias) unit-major, as float32. */
    static float[] unitMajor(Tensor v, int gates, int hidden) {
        double[] d = v.data();
        float[] out = new float[gates * hidden];
        for (int u = 0; u < hidden; u++) {
            for (int g = 0; g < gates; g++) {
                out[u * gates + g] = (float) d[g * hidden + u];
            }
        }
        return out;
    }

    /**
     * {@code a[o + n] = Σ_k val[k] * h[col[k]*B + n]} over row r's nonzeros, for n in [0, B), with the state
     * {@code h [H][B]}: the scalar loops of the recurrent product ({@link VectorKernels#rowDot} is the Vector
     * API's).
     */
    void rowDot(int r, float[] h, int b, float[] a, int o) {
        char[] col = this.col;
        float[] val = this.val;
        int k = rowPtr[r], e = rowPtr[r + 1];
        switch (b) {
            case 1 -> {
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (; k + 3 < e; k += 4) {
                    s0 += val[k] * h[col[k]];
                    s1 += val[k + 1] * h[col[k + 1]];
                    s2 += val[k + 2] * h[col[k + 2]];
                    s3 += val[k + 3] * h[col[k + 3]];
                }
                for (; k < e; k++) {
                    s0 += val[k] * h[col[k]];
                }
                a[o] = (s0 + s1) + (s2 + s3);
            }
            case 4 -> {
                float p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
                for (; k + 1 < e; k += 2) {
                    float v = val[k], v2 = val[k + 1];
                    int c = col[k] << 2, c2 = col[k + 1] << 2;
                    p0 += v * h[c];
                    p1 += v * h[c + 1];
                    p2 += v * h[c + 2];
                    p3 += v * h[c + 3];
                    q0 += v2 * h[c2];
                    q1 += v2 * h[c2 + 1];
                    q2 += v2 * h[c2 + 2];
                    q3 += v2 * h[c2 + 3];
                }
                if (k < e) {
                    float v = val[k];
                    int c = col[k] << 2;
                    p0 += v * h[c];
                    p1 += v * h[c + 1];
                    p2 += v * h[c + 2];
                    p3 += v * h[c + 3];
                }
                a[o] = p0 + q0;
                a[o + 1] = p1 + q1;
                a[o + 2] = p2 + q2;
                a[o + 3] = p3 + q3;
            }
            default -> {
                for (int n = 0; n < b; n++) {
                    a[o + n] = 0f;
                }
                for (; k < e; k++) {
                    float v = val[k];
                    int c = col[k] * b;
                    for (int n = 0; n < b; n++) {
                        a[o + n] += v * h[c + n];
                    }
                }
            }
        }
    }
}
