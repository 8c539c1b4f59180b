package org.sprnn.sparse;

import java.util.Arrays;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * A float32 matrix in compressed sparse row (CSR) form: the one sparse format every engine starts from.
 *
 * <p>It exists so that the {@code cpu} engine, the cuSPARSE engine and the on-chip packer all read a
 * pruned weight matrix the same way, and make the same choice of which entries to keep: row {@code r}'s
 * nonzeros are {@code values[rowPtr[r] .. rowPtr[r+1])} at columns {@code colIdx[rowPtr[r] ..
 * rowPtr[r+1])}, columns strictly increasing within a row. Only entries that are not exactly zero after
 * rounding to float32 are kept, so {@link #nnz()} is the number a kernel will actually multiply. The index
 * arrays are zero-based 32-bit, which is what cuSPARSE's {@code CUSPARSE_INDEX_32I} /
 * {@code CUSPARSE_INDEX_BASE_ZERO} expects. For {@code W_hh} the rows are in PyTorch order (gate-major:
 * row {@code g*H + u} is gate {@code g} of hidden unit {@code u}); the layouts the engines derive from it
 * (the {@code cpu} engine's unit-major copy, {@link PackedLayer}'s warp words) reorder rows, never entries.
 *
 * <p>Immutable: the accessors return copies; {@link #rowPtrView()} and friends hand out the arrays
 * themselves for packers that promise not to write to them.
 */
public final class CsrMatrix {
    private final int rows;
    private final int cols;
    private final int[] rowPtr; // [rows + 1], rowPtr[0] = 0, non-decreasing, rowPtr[rows] = nnz
    private final int[] colIdx; // [nnz], strictly increasing within each row
    private final float[] values; // [nnz], never 0.0f

    private CsrMatrix(int rows, int cols, int[] rowPtr, int[] colIdx, float[] values) {
        this.rows = rows;
        this.cols = cols;
        this.rowPtr = rowPtr;
        this.colIdx = colIdx;
        this.values = values;
    }

    /**
     * Builds the CSR form of a rank-2 tensor, keeping the entries that are nonzero in float32.
     *
     * @param dense a {@code [rows][cols]} tensor
     * @throws SprnnException if the tensor is not rank 2 or has more than {@code 2^31 - 1} nonzeros
     */
    public static CsrMatrix of(Tensor dense) {
        if (dense.rank() != 2) {
            throw new SprnnException("CSR needs a matrix (rank 2), got shape " + dense.shapeString());
        }
        int rows = dense.dim(0), cols = dense.dim(1);
        double[] d = dense.data();
        long count = 0;
        for (double v : d) {
            if ((float) v != 0.0f) {
                count++;
            }
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw new SprnnException("matrix " + dense.shapeString() + " has " + count + " nonzeros, more than CSR's 32-bit indices hold");
        }
        int[] rowPtr = new int[rows + 1];
        int[] colIdx = new int[(int) count];
        float[] values = new float[(int) count];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                float v = (float) d[base + c];
                if (v != 0.0f) {
                    colIdx[k] = c;
                    values[k] = v;
                    k++;
                }
            }
            rowPtr[r + 1] = k;
        }
        return new CsrMatrix(rows, cols, rowPtr, colIdx, values);
    }

    /** Number of rows. */
    public int rows() {
        return rows;
    }

    /** Number of columns. */
    public int cols() {
        return cols;
    }

    /** Number of stored (nonzero) entries. */
    public int nnz() {
        return values.length;
    }

    /** {@code nnz / (rows * cols)}; 0 for an empty shape. */
    public double density() {
        long cells = (long) rows * cols;
        return cells == 0 ? 0.0 : (double) nnz() / cells;
    }

    /** Nonzeros in row {@code r}. */
    public int rowNnz(int r) {
        return rowPtr[r + 1] - rowPtr[r];
    }

    /** The smallest number of nonzeros in any row (0 for a matrix with no rows). */
    public int minRowNnz() {
        return rows == 0 ? 0 : sortedRowCounts()[0];
    }

    /** The largest number of nonzeros in any row (0 for a matrix with no rows). */
    public int maxRowNnz() {
        return rows == 0 ? 0 : sortedRowCounts()[rows - 1];
    }

    /**
     * The median number of nonzeros per row: the middle count, or the mean of the two middle counts for
     * an even number of rows (0 for a matrix with no rows).
     */
    public double medianRowNnz() {
        if (rows == 0) {
            return 0;
        }
        int[] s = sortedRowCounts();
        return rows % 2 == 1 ? s[rows / 2] : (s[rows / 2 - 1] + s[rows / 2]) / 2.0;
    }

    private int[] sortedRowCounts() {
        int[] n = new int[rows];
        for (int r = 0; r < rows; r++) {
            n[r] = rowNnz(r);
        }
        Arrays.sort(n);
        return n;
    }

    /** A copy of row {@code r}'s columns, ascending ({@link #rowNnz(int)} of them). */
    public int[] rowColumns(int r) {
        return Arrays.copyOfRange(colIdx, rowPtr[r], rowPtr[r + 1]);
    }

    /** A copy of row {@code r}'s values, in the order of {@link #rowColumns(int)}. */
    public float[] rowValues(int r) {
        return Arrays.copyOfRange(values, rowPtr[r], rowPtr[r + 1]);
    }

    /** A copy of the row pointers {@code [rows + 1]}. */
    public int[] rowPtr() {
        return rowPtr.clone();
    }

    /** A copy of the column indices {@code [nnz]}. */
    public int[] colIdx() {
        return colIdx.clone();
    }

    /** A copy of the values {@code [nnz]}. */
    public float[] values() {
        return values.clone();
    }

    /** The row pointer array itself, for packers that only read it. Do not modify. */
    public int[] rowPtrView() {
        return rowPtr;
    }

    /** The column index array itself, for packers that only read it. Do not modify. */
    public int[] colIdxView() {
        return colIdx;
    }

    /** The value array itself, for packers that only read it. Do not modify. */
    public float[] valuesView() {
        return values;
    }

    /** The dense {@code [rows][cols]} tensor (float32 values widened to double). */
    public Tensor toDense() {
        double[] d = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
                d[r * cols + colIdx[k]] = values[k];
            }
        }
        return new Tensor(new int[] {rows, cols}, d);
    }

    @Override
    public String toString() {
        return "CsrMatrix[" + rows + " x " + cols + ", nnz " + nnz() + String.format(java.util.Locale.ROOT, ", density %.4f]", density());
    }
}
