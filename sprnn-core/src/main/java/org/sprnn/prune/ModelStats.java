package org.sprnn.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * How sparse a model is, matrix by matrix: what {@code sprnn inspect} prints.
 *
 * <p>"On-chip bytes" counts 4 bytes per nonzero, the sparse persistent kernel's word (fp16 value +
 * 16-bit column index), which is what decides whether a layer fits in registers and shared memory.
 *
 * @param cell     the model's cell type
 * @param matrices every layer's W_ih then W_hh, input layer first (in a bidirectional model, each layer's
 *                 reverse W_ih and W_hh after its forward ones, named {@code weight_ih_l{k}_reverse}, ...)
 */
public record ModelStats(CellType cell, List<MatrixStats> matrices) {
    /** Bytes per nonzero on chip: fp16 value + 16-bit column index. */
    public static final int ON_CHIP_BYTES_PER_NONZERO = 4;

    /** Copies the matrices, which the record then holds unmodifiable. */
    public ModelStats {
        matrices = List.copyOf(matrices);
    }

    /**
     * One weight matrix.
     *
     * @param layer        layer index
     * @param name         PyTorch's tensor name, e.g. {@code weight_hh_l0}
     * @param rows         rows (G*H)
     * @param cols         columns (I or H)
     * @param nonzeros     entries not exactly zero
     * @param density      nonzeros / (rows * cols)
     * @param minRowNnz    fewest nonzeros in a row
     * @param medianRowNnz median nonzeros per row (mean of the middle two for an even row count)
     * @param maxRowNnz    most nonzeros in a row
     * @param onChipBytes  {@link #ON_CHIP_BYTES_PER_NONZERO} × nonzeros
     */
    public record MatrixStats(int layer, String name, int rows, int cols, long nonzeros, double density,
                              int minRowNnz, double medianRowNnz, int maxRowNnz, long onChipBytes) {
    }

    /**
     * Measures every W_ih and W_hh of the model.
     *
     * @param model the model
     * @return one entry per matrix, W_ih then W_hh of each layer
     */
    public static ModelStats of(RnnModel model) {
        List<MatrixStats> m = new ArrayList<>();
        for (int k = 0; k < model.numLayers(); k++) {
            for (int d = 0; d < model.directions(); d++) {
                Layer l = model.layer(k, d);
                String suffix = d == 0 ? "" : "_reverse";
                m.add(matrix(k, "weight_ih_l" + k + suffix, l.wIh()));
                m.add(matrix(k, "weight_hh_l" + k + suffix, l.wHh()));
            }
        }
        return new ModelStats(model.cell(), m);
    }

    /**
     * Measures one {@code [rows][cols]} matrix.
     *
     * @param layer the layer's index
     * @param name the tensor's name, e.g. {@code weight_hh_l0}
     * @param w the matrix
     * @return its statistics
     */
    public static MatrixStats matrix(int layer, String name, Tensor w) {
        int rows = w.dim(0), cols = w.dim(1);
        double[] d = w.data();
        int[] perRow = new int[rows];
        long nnz = 0;
        for (int r = 0; r < rows; r++) {
            int c = 0;
            for (int j = r * cols, e = j + cols; j < e; j++) {
                if (d[j] != 0.0) {
                    c++;
                }
            }
            perRow[r] = c;
            nnz += c;
        }
        Arrays.sort(perRow);
        double median = rows == 0 ? 0 : rows % 2 == 1 ? perRow[rows / 2] : (perRow[rows / 2 - 1] + perRow[rows / 2]) / 2.0;
        long cells = (long) rows * cols;
        return new MatrixStats(layer, name, rows, cols, nnz, cells == 0 ? 0 : (double) nnz / cells,
                rows == 0 ? 0 : perRow[0], median, rows == 0 ? 0 : perRow[rows - 1], ON_CHIP_BYTES_PER_NONZERO * nnz);
    }

    /**
     * Nonzeros of every matrix together.
     *
     * @return the sum of {@link MatrixStats#nonzeros()}
     */
    public long totalNonzeros() {
        return matrices.stream().mapToLong(MatrixStats::nonzeros).sum();
    }

    /**
     * On-chip bytes of every matrix together.
     *
     * @return the sum of {@link MatrixStats#onChipBytes()}
     */
    public long totalOnChipBytes() {
        return matrices.stream().mapToLong(MatrixStats::onChipBytes).sum();
    }

    /**
     * On-chip bytes of the recurrent matrices (W_hh) alone: what a persistent kernel keeps resident.
     *
     * @return the sum of {@link MatrixStats#onChipBytes()} over the W_hh matrices
     */
    public long recurrentOnChipBytes() {
        return matrices.stream().filter(s -> s.name().startsWith("weight_hh")).mapToLong(MatrixStats::onChipBytes).sum();
    }

    /**
     * A fixed-width table, one line per matrix plus totals, for {@code sprnn inspect}.
     *
     * @return the table, lines ending in newlines
     */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        boolean bidirectional = matrices.stream().anyMatch(s -> s.name().endsWith("_reverse"));
        int layers = matrices.stream().mapToInt(MatrixStats::layer).max().orElse(-1) + 1;
        sb.append(String.format(Locale.ROOT, "cell %s, %d layer(s)%s%n", cell, layers,
                bidirectional ? ", bidirectional (forward and reverse direction per layer: output 2 x hidden, states 2 x layers)" : ""));
        String tensor = bidirectional ? "%-22s" : "%-14s";
        sb.append(String.format(Locale.ROOT, "%-5s " + tensor + " %-13s %11s %8s %8s %8s %8s %12s%n",
                "layer", "tensor", "shape", "nonzeros", "density", "row min", "row med", "row max", "packed B"));
        for (MatrixStats s : matrices) {
            sb.append(String.format(Locale.ROOT, "%-5d " + tensor + " %-13s %11d %7.2f%% %8d %8s %8d %12d%n",
                    s.layer(), s.name(), "[" + s.rows() + ", " + s.cols() + "]", s.nonzeros(), 100 * s.density(),
                    s.minRowNnz(), formatMedian(s.medianRowNnz()), s.maxRowNnz(), s.onChipBytes()));
        }
        sb.append(String.format(Locale.ROOT, "total: %d nonzeros, %d bytes packed at %d B per nonzero (fp16 value + column); "
                + "on chip in the persistent kernel: W_hh, %d bytes (W_ih's product runs before the recurrence)%n",
                totalNonzeros(), totalOnChipBytes(), ON_CHIP_BYTES_PER_NONZERO, recurrentOnChipBytes()));
        return sb.toString();
    }

    private static String formatMedian(double m) {
        return m == Math.rint(m) ? Long.toString((long) m) : String.format(Locale.ROOT, "%.1f", m);
    }

    @Override
    public String toString() {
        return toTable();
    }
}
