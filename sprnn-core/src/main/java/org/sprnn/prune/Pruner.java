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
     * Prunes one {@code [rows][cols]} matrix as the spec says; returns a new tensor.
     *
     * @param w the {@code [rows][cols]} matrix
     * @param spec the density and mode
     * @return a new tensor; {@code w} is not modified
     */
    public static Tensor prune(Tensor w, PruneSpec spec) {
        int rows = w.dim(0), cols = w.dim(1);
        double[] src = w.data();
        double[] dst = new double[src.length];
        if (spec.mode() == PruneSpec.Mode.PER_ROW) {
            int keep = Math.max(1, (int) Math.round(spec.density() * cols));
            for (int r = 0; r < rows; r++) {
                keepLargest(src, dst, r * cols, cols, keep);
            }
        } else {
            long n = (long) rows * cols;
            int keep = (int) Math.max(1, Math.round(spec.density() * n));
            keepLargest(src, dst, 0, src.length, keep);
        }
        return new Tensor(w.shape(), dst);
    }

    /** Copies into dst the {@code keep} entries of src[off, off+n) of largest |w|, ties to the lower index. */
    private static void keepLargest(double[] src, double[] dst, int off, int n, int keep) {
        if (keep >= n) {
            System.arraycopy(src, off, dst, off, n);
            return;
        }
        double[] mag = new double[n];
        for (int i = 0; i < n; i++) {
            mag[i] = Math.abs(src[off + i]);
        }
        Arrays.sort(mag);
        double threshold = mag[n - keep]; // the keep-th largest |w|
        int above = 0;
        for (int i = 0; i < n; i++) {
            if (Math.abs(src[off + i]) > threshold) {
                above++;
            }
        }
        int atThreshold = keep - above; // how many equal to the threshold to keep, lowest index first
        for (int i = 0; i < n; i++) {
            double a = Math.abs(src[off + i]);
            if (a > threshold || (a == threshold && atThreshold-- > 0)) {
                dst[off + i] = src[off + i];
            }
        }
    }
}
