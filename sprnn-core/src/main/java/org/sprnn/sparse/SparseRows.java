package org.sprnn.sparse;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * A matrix as its rows' nonzeros (column-sorted), float32 values: the input the on-chip packer deals
 * out. Rows are {@code W_hh}'s rows in PyTorch order (gate-major: row {@code g*H + u} is gate {@code g}
 * of hidden unit {@code u}).
 *
 * @param cols number of columns (the hidden size {@code H})
 * @param columns per row, its nonzero columns, ascending
 * @param values per row, the values at those columns
 */
public record SparseRows(int cols, List<int[]> columns, List<float[]> values) {
    /** Checks that every row's columns and values pair up and lie in range. */
    public SparseRows {
        if (columns.size() != values.size()) {
            throw new SprnnException("sparse rows: " + columns.size() + " column lists but " + values.size() + " value lists");
        }
        for (int r = 0; r < columns.size(); r++) {
            int[] c = columns.get(r);
            if (c.length != values.get(r).length) {
                throw new SprnnException("sparse rows: row " + r + " has " + c.length + " columns but " + values.get(r).length + " values");
            }
            for (int i = 0; i < c.length; i++) {
                if (c[i] < 0 || c[i] >= cols || (i > 0 && c[i] <= c[i - 1])) {
                    throw new SprnnException("sparse rows: row " + r + " column " + c[i] + " out of range or not ascending");
                }
            }
        }
        columns = List.copyOf(columns);
        values = List.copyOf(values);
    }

    /** The nonzeros of a dense {@code [rows][cols]} tensor (values rounded to float32; exact zeros dropped). */
    public static SparseRows of(Tensor dense) {
        if (dense.rank() != 2) {
            throw new SprnnException("sparse rows: expected a matrix, got shape " + dense.shapeString());
        }
        int rows = dense.dim(0);
        int cols = dense.dim(1);
        List<int[]> cs = new ArrayList<>(rows);
        List<float[]> vs = new ArrayList<>(rows);
        double[] d = dense.data();
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int c = 0; c < cols; c++) {
                if (d[r * cols + c] != 0.0) {
                    n++;
                }
            }
            int[] ci = new int[n];
            float[] vi = new float[n];
            n = 0;
            for (int c = 0; c < cols; c++) {
                double v = d[r * cols + c];
                if (v != 0.0) {
                    ci[n] = c;
                    vi[n++] = (float) v;
                }
            }
            cs.add(ci);
            vs.add(vi);
        }
        return new SparseRows(cols, cs, vs);
    }

    /** Number of rows. */
    public int rows() {
        return columns.size();
    }

    /** Nonzeros in row {@code r}. */
    public int rowLength(int r) {
        return columns.get(r).length;
    }

    /** Total nonzeros. */
    public long nonzeros() {
        long n = 0;
        for (int[] c : columns) {
            n += c.length;
        }
        return n;
    }
}
