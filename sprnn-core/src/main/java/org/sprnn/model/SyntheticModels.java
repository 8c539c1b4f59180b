package org.sprnn.model;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.sprnn.SprnnException;

/**
 * Random models and inputs for demos, tests and benchmarks, reproducible from a seed.
 *
 * <p>Weights follow results/anchors/README.md's workload: nonzeros at uniform random positions with the given density
 * (exactly {@code round(d * cols)} per row, at least 1), values {@code N(0,1)/sqrt(cols * d)}, so that
 * a step neither explodes nor vanishes. Biases are {@code N(0, 0.1²)}.
 */
public final class SyntheticModels {
    private SyntheticModels() {
    }

    /**
     * A random model.
     *
     * @param cell      cell type
     * @param inputSize I
     * @param hidden    H
     * @param layers    number of stacked layers (≥ 1)
     * @param density   fraction of nonzeros kept in W_hh, in (0, 1]
     * @param densityIh fraction of nonzeros kept in W_ih, in (0, 1]
     * @param seed      random seed
     * @return a new model, the same for the same arguments
     */
    public static RnnModel random(CellType cell, int inputSize, int hidden, int layers, double density,
                                  double densityIh, long seed) {
        return random(cell, inputSize, hidden, layers, density, densityIh, seed, false);
    }

    /** {@link #random}, or with {@code unequalRows} {@link #randomUnequalRows}: W_hh drawn entry by entry. */
    private static RnnModel random(CellType cell, int inputSize, int hidden, int layers, double density, double densityIh,
                                   long seed, boolean unequalRows) {
        checkArguments(inputSize, hidden, layers, density, densityIh);
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = gateRows(cell, hidden);
        List<Layer> ls = new ArrayList<>();
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? inputSize : hidden;
            ls.add(new Layer(sparse(rows, in, densityIh, rnd), unequalRows ? bernoulli(rows, hidden, density, rnd)
                    : sparse(rows, hidden, density, rnd), normal(rows, 0.1, rnd), normal(rows, 0.1, rnd)));
        }
        return new RnnModel(cell, ls);
    }

    /**
     * As {@link #random}, but each layer's {@code W_hh} holds every entry with probability {@code density} (at least one a
     * row), so its rows hold unequal counts, spread as magnitude pruning over a whole matrix of independent weights spreads
     * them (the sparse kernel's shared-tail layout, {@code org.sprnn.sparse.PackedLayer#packTail}); values as
     * {@link #sparse} draws them.
     *
     * @param cell      cell type
     * @param inputSize I
     * @param hidden    H
     * @param layers    number of stacked layers (≥ 1)
     * @param density   W_hh's expected density, in (0, 1]
     * @param densityIh W_ih's density, in (0, 1]
     * @param seed      random seed
     * @return the model
     */
    public static RnnModel randomUnequalRows(CellType cell, int inputSize, int hidden, int layers, double density,
                                             double densityIh, long seed) {
        return random(cell, inputSize, hidden, layers, density, densityIh, seed, true);
    }

    /** {@code [rows][cols]}, each entry nonzero with probability {@code d} (at least one a row), {@code N(0, 1/(cols d))}. */
    static Tensor bernoulli(int rows, int cols, double d, SplittableRandom rnd) {
        double scale = 1.0 / Math.sqrt((double) cols * d);
        double[] w = new double[Tensor.allocatableSize(new int[] {rows, cols})];
        for (int r = 0; r < rows; r++) {
            boolean any = false;
            for (int j = 0; j < cols; j++) {
                if (rnd.nextDouble() < d) {
                    double v = gaussian(rnd) * scale;
                    w[r * cols + j] = v == 0.0 ? scale : v;
                    any = true;
                }
            }
            if (!any) {
                w[r * cols + rnd.nextInt(cols)] = scale;
            }
        }
        return new Tensor(new int[] {rows, cols}, w);
    }

    /** The gate rows of W_ih and W_hh, {@code gates x hidden}, refused where no array holds them. */
    private static int gateRows(CellType cell, int hidden) {
        if ((long) cell.gates() * hidden > Integer.MAX_VALUE - 16) {
            throw new SprnnException("synthetic model: hidden " + hidden + " gives " + (long) cell.gates() * hidden
                    + " gate rows, more than one array holds");
        }
        return cell.gates() * hidden;
    }

    private static void checkArguments(int inputSize, int hidden, int layers, double density, double densityIh) {
        if (inputSize < 1 || hidden < 1 || layers < 1) {
            throw new SprnnException("synthetic model needs input, hidden and layers >= 1 (got " + inputSize
                    + ", " + hidden + ", " + layers + ")");
        }
        checkDensity(density, "--density");
        checkDensity(densityIh, "--density-ih");
    }

    /**
     * A random bidirectional model (PyTorch's {@code bidirectional=True}): as {@link #random}, with a reverse
     * layer beside every layer and layer {@code k > 0} of both directions reading {@code 2 * hidden} inputs.
     *
     * @param cell      cell type
     * @param inputSize I
     * @param hidden    H
     * @param layers    number of stacked layers (≥ 1)
     * @param density   fraction of nonzeros kept in W_hh, in (0, 1]
     * @param densityIh fraction of nonzeros kept in W_ih, in (0, 1]
     * @param seed      random seed
     * @return a new model, the same for the same arguments
     */
    public static RnnModel randomBidirectional(CellType cell, int inputSize, int hidden, int layers, double density,
                                               double densityIh, long seed) {
        checkArguments(inputSize, hidden, layers, density, densityIh);
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = gateRows(cell, hidden);
        List<Layer> fwd = new ArrayList<>(), rev = new ArrayList<>();
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? inputSize : 2 * hidden;
            for (List<Layer> dir : List.of(fwd, rev)) {
                dir.add(new Layer(sparse(rows, in, densityIh, rnd), sparse(rows, hidden, density, rnd),
                        normal(rows, 0.1, rnd), normal(rows, 0.1, rnd)));
            }
        }
        return new RnnModel(cell, fwd, true, "", rev);
    }

    private static void checkDensity(double d, String what) {
        if (!(d > 0 && d <= 1)) {
            throw new SprnnException(what + ": density must be in (0, 1], got " + d);
        }
    }

    /**
     * A {@code [rows][cols]} matrix with {@code max(1, round(d*cols))} nonzeros per row at random columns.
     *
     * @param rows the number of rows
     * @param cols the number of columns
     * @param d the fraction of each row kept nonzero, in (0, 1]
     * @param rnd the random source
     * @return a new {@code [rows][cols]} tensor, values {@code N(0,1)/sqrt(cols * d)}
     */
    public static Tensor sparse(int rows, int cols, double d, SplittableRandom rnd) {
        int k = Math.max(1, (int) Math.round(d * cols));
        double scale = 1.0 / Math.sqrt((double) cols * d);
        double[] w = new double[Tensor.allocatableSize(new int[] {rows, cols})];
        int[] perm = new int[cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                perm[j] = j;
            }
            for (int j = 0; j < k; j++) { // partial Fisher-Yates: the first k of a random permutation
                int s = j + rnd.nextInt(cols - j);
                int tmp = perm[j];
                perm[j] = perm[s];
                perm[s] = tmp;
                double v = gaussian(rnd) * scale;
                w[r * cols + perm[j]] = v == 0.0 ? scale : v;
            }
        }
        return new Tensor(new int[] {rows, cols}, w);
    }

    /**
     * {@code N(0, sigma²)} values of the given shape.
     *
     * @param n the number of values
     * @param sigma the standard deviation
     * @param rnd the random source
     * @return a new {@code [n]} tensor
     */
    public static Tensor normal(int n, double sigma, SplittableRandom rnd) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = gaussian(rnd) * sigma;
        }
        return new Tensor(new int[] {n}, v);
    }

    /**
     * A random input {@code [T][B][I]}, values uniform in [-1, 1).
     *
     * @param steps T
     * @param batch B
     * @param inputSize I
     * @param seed random seed
     * @return a new tensor, the same for the same arguments
     */
    public static Tensor input(int steps, int batch, int inputSize, long seed) {
        return uniform(new SplittableRandom(seed), steps, batch, inputSize);
    }

    /**
     * Random initial states {@code [L][B][H]}, values uniform in [-1, 1).
     *
     * @param layers L
     * @param batch B
     * @param hidden H
     * @param seed random seed
     * @return a new tensor, the same for the same arguments
     */
    public static Tensor state(int layers, int batch, int hidden, long seed) {
        return uniform(new SplittableRandom(seed), layers, batch, hidden);
    }

    private static Tensor uniform(SplittableRandom rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        double[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = rnd.nextDouble(-1.0, 1.0);
        }
        return t;
    }

    private static double gaussian(SplittableRandom rnd) {
        return rnd.nextGaussian();
    }
}
