package org.sprnn.prune;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Magnitude pruning: keeps the weights of largest absolute value and zeroes the rest.
 *
 * <p>{@link PruneSpec} states each mode's rule: where the kept count applies (matrix, row, group of rows, bank of
 * a row) and how it is rounded.
 *
 * <p>Ties are broken by position: among weights of equal |w| at the threshold, those with the smaller
 * row-major index are kept, so the result depends only on the model and the spec. Pruning an already
 * pruned model with the same spec changes nothing (the kept weights are again the largest).
 */
public final class Pruner {
    private Pruner() {
    }

    /**
     * Prunes every layer's W_hh (of both directions, in a bidirectional model) (and W_ih if {@link PruneSpec#includeInputWeights()}) to the spec's
     * density; biases and the unpruned matrices are kept as they are, and so are the model's bias flag
     * and key prefix, so that the pruned model saves under the same state-dict keys as the original.
     *
     * @param model the model to prune
     * @param spec the density, mode and whether W_ih is pruned too
     * @return a new model; the argument is not modified
     */
    public static RnnModel prune(RnnModel model, PruneSpec spec) {
        return model.withLayers(prune(model.layers(), spec), prune(model.reverseLayers(), spec));
    }

    /** Each layer pruned as {@link #prune(RnnModel, PruneSpec)} says. */
    private static List<Layer> prune(List<Layer> layers, PruneSpec spec) {
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            Tensor wIh = spec.includeInputWeights() ? prune(l.wIh(), spec) : l.wIh();
            out.add(new Layer(wIh, prune(l.wHh(), spec), l.bIh(), l.bHh()));
        }
        return out;
    }

    /**
     * Prunes one {@code [rows][cols]} matrix as the spec says; returns a new tensor. Gate rows are rows: an LSTM's
     * {@code [4H][cols]} W_hh is grouped and banked as one matrix.
     *
     * @param w the {@code [rows][cols]} matrix
     * @param spec the density and mode
     * @return a new tensor; {@code w} is not modified
     */
    public static Tensor prune(Tensor w, PruneSpec spec) {
        try {
            return pruneOnHeap(w, spec);
        } catch (OutOfMemoryError e) { // no Error leaves the library: the matrix, its copy and its magnitudes did not fit
            throw org.sprnn.JvmSupport.heapTooSmall("pruning a " + w.shapeString() + " matrix (its pruned copy and its |w|)",
                    16L * w.size(), null);
        }
    }

    private static Tensor pruneOnHeap(Tensor w, PruneSpec spec) {
        int rows = w.dim(0), cols = w.dim(1);
        double[] src = w.data();
        double[] dst = new double[src.length];
        switch (spec.mode()) {
            case PER_ROW -> {
                int keep = Math.max(1, (int) Math.round(spec.density() * cols));
                for (int r = 0; r < rows; r++) {
                    keepLargest(src, dst, r * cols, cols, 1, keep);
                }
            }
            case PER_MATRIX -> {
                long n = (long) rows * cols;
                int keep = (int) Math.max(1, Math.round(spec.density() * n));
                keepLargest(src, dst, 0, src.length, 1, keep);
            }
            case BALANCED -> {
                for (int g0 = 0; g0 < rows; g0 += spec.group()) {
                    balancedGroup(src, dst, g0, Math.min(spec.group(), rows - g0), cols, spec.density());
                }
            }
            case BANK_BALANCED -> {
                int keep = Math.max(1, (int) Math.round(spec.density() * cols / PruneSpec.BANKS));
                for (int r = 0; r < rows; r++) {
                    for (int b = 0; b < Math.min(PruneSpec.BANKS, cols); b++) {
                        int n = (cols - b + PruneSpec.BANKS - 1) / PruneSpec.BANKS; // columns b, b+32, ... below cols
                        keepLargest(src, dst, r * cols + b, n, PruneSpec.BANKS, keep);
                    }
                }
            }
        }
        return new Tensor(w.shape(), dst);
    }

    /**
     * {@link PruneSpec.Mode#BALANCED} on the {@code n} rows from {@code row0}: a budget of
     * {@code clamp(round(density * n * cols), n, n * cols)} weights, {@code k = budget / n} in every row and one more
     * in the {@code budget mod n} rows whose (k+1)-th largest |w| is largest (ties to the lower row). That choice keeps
     * the largest sum of |w| of any with row counts k and k+1: each row's top k are kept in any case, and the extra
     * weights are the largest candidates there are.
     */
    private static void balancedGroup(double[] src, double[] dst, int row0, int n, int cols, double density) {
        long total = (long) n * cols;
        if (total == 0) {
            return;
        }
        long budget = Math.min(total, Math.max(n, Math.round(density * total)));
        int k = (int) (budget / n);
        int extra = (int) (budget % n);
        boolean[] more = new boolean[n];
        if (extra > 0) { // then k < cols, so a (k+1)-th largest exists
            double[] next = new double[n];
            Integer[] order = new Integer[n];
            double[] mag = new double[cols];
            for (int i = 0; i < n; i++) {
                int off = (row0 + i) * cols;
                for (int c = 0; c < cols; c++) {
                    mag[c] = Math.abs(src[off + c]);
                }
                Arrays.sort(mag);
                next[i] = mag[cols - k - 1];
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> next[a] != next[b] ? Double.compare(next[b], next[a]) : Integer.compare(a, b));
            for (int j = 0; j < extra; j++) {
                more[order[j]] = true;
            }
        }
        for (int i = 0; i < n; i++) {
            keepLargest(src, dst, (row0 + i) * cols, cols, 1, more[i] ? k + 1 : k);
        }
    }

    /**
     * Copies into dst the {@code keep} entries of largest |w| among src[off], src[off+stride], ... ({@code n} of them),
     * ties to the lower index.
     */
    private static void keepLargest(double[] src, double[] dst, int off, int n, int stride, int keep) {
        if (keep >= n) {
            for (int i = 0; i < n; i++) {
                dst[off + i * stride] = src[off + i * stride];
            }
            return;
        }
        double[] mag = new double[n];
        for (int i = 0; i < n; i++) {
            mag[i] = Math.abs(src[off + i * stride]);
        }
        Arrays.sort(mag);
        double threshold = mag[n - keep]; // the keep-th largest |w|
        int above = 0;
        for (int i = 0; i < n; i++) {
            if (Math.abs(src[off + i * stride]) > threshold) {
                above++;
            }
        }
        int atThreshold = keep - above; // how many equal to the threshold to keep, lowest index first
        for (int i = 0; i < n; i++) {
            int at = off + i * stride;
            double a = Math.abs(src[at]);
            if (a > threshold || (a == threshold && atThreshold-- > 0)) {
                dst[at] = src[at];
            }
        }
    }
}
