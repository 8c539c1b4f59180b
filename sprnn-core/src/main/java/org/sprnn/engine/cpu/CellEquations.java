// CellEquations.java — PyTorch's recurrent cell equations in float64, written once: the oracle
// (CpuReferenceEngine) and the GPU kernel's rounding replay (check.RoundingProbe) both step through
// these, so the two can never disagree about what a cell computes.
package org.sprnn.engine.cpu;

import java.util.Arrays;
import java.util.function.IntFunction;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The float64 equations of {@code nn.RNN} (relu, tanh), {@code nn.GRU} and {@code nn.LSTM}: the sparse
 * matrix-vector product in a fixed summation order, the cell update in PyTorch's gate order, and the forward
 * pass over layers, batch elements and steps that applies them.
 */
public final class CellEquations {
    private CellEquations() {
    }

    /**
     * One layer's arrays for {@link #forward}: W_ih {@code [G*H][in]} and W_hh {@code [G*H][H]} row-major, each row's
     * nonzero columns in summation order, and the biases {@code [G*H]}.
     */
    public record LayerArrays(double[] wIh, int[][] colsIh, double[] wHh, int[][] colsHh, double[] bIh, double[] bHh) {
        /** The layer's own arrays, each row's nonzero columns ascending. */
        public static LayerArrays of(Layer layer) {
            return new LayerArrays(layer.wIh().data(), nonzeroColumns(layer.wIh().data(), layer.wIh().dim(0), layer.wIh().dim(1)),
                    layer.wHh().data(), nonzeroColumns(layer.wHh().data(), layer.wHh().dim(0), layer.wHh().dim(1)),
                    layer.bIh().data(), layer.bHh().data());
        }
    }

    /** What a step's recurrent product sees of the state: fills {@code view [H]} from {@code h [H]}. */
    public interface StateView {
        void fill(double[] h, double[] view);
    }

    /** Each row's nonzero columns of a row-major {@code [rows][cols]} matrix, ascending. */
    public static int[][] nonzeroColumns(double[] w, int rows, int cols) {
        int[][] out = new int[rows][];
        int[] buf = new int[cols];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int j = 0; j < cols; j++) {
                if (w[r * cols + j] != 0.0) {
                    buf[n++] = j;
                }
            }
            out[r] = Arrays.copyOf(buf, n);
        }
        return out;
    }

    /**
     * The forward pass of {@code model}'s cell over {@code input [T][B][in]} from {@code h0}, {@code c0} ({@code [L][B][H]},
     * null: zeros), layer by layer, batch element by batch element, step by step. Layer {@code k}'s arrays come from
     * {@code layers.apply(k)}, asked once at the start of the layer; the recurrent product sees h through
     * {@code hView} (null: h itself).
     */
    public static RnnOutput forward(RnnModel model, Tensor input, Tensor h0, Tensor c0, IntFunction<LayerArrays> layers,
                                    StateView hView) {
        int steps = input.dim(0), b = input.dim(1), h = model.hiddenSize(), numLayers = model.numLayers();
        CellType cell = model.cell();
        double[] hN = new double[numLayers * b * h];
        double[] cN = cell.hasCellState() ? new double[numLayers * b * h] : null;
        if (h0 != null) {
            System.arraycopy(h0.data(), 0, hN, 0, hN.length);
        }
        if (c0 != null && cN != null) {
            System.arraycopy(c0.data(), 0, cN, 0, cN.length);
        }
        double[] seq = input.data(); // [T][B][in] of the current layer
        int in = model.inputSize();
        for (int k = 0; k < numLayers; k++) {
            LayerArrays a = layers.apply(k);
            double[] out = new double[steps * b * h];
            double[] hs = new double[h], cs = new double[h], hq = hView == null ? hs : new double[h];
            double[] gi = new double[cell.gates() * h], gh = new double[cell.gates() * h];
            int badStep = steps, badBatch = 0, badUnit = 0; // the earliest state float32 cannot hold, over the batch
            double badValue = 0;
            String badWhat = null;
            for (int n = 0; n < b; n++) {
                int st = (k * b + n) * h;
                System.arraycopy(hN, st, hs, 0, h);
                if (cN != null) {
                    System.arraycopy(cN, st, cs, 0, h);
                }
                for (int t = 0; t < steps; t++) {
                    if (hView != null) {
                        hView.fill(hs, hq);
                    }
                    matVec(a.wIh(), a.colsIh(), in, a.bIh(), seq, (t * b + n) * in, gi);
                    matVec(a.wHh(), a.colsHh(), h, a.bHh(), hq, 0, gh);
                    step(cell, h, gi, gh, hs, cs);
                    System.arraycopy(hs, 0, out, (t * b + n) * h, h);
                    if (t < badStep) { // the first of: input projection, recurrent product, hidden state, cell state
                        double[][] tested = {gi, gh, hs, cN != null ? cs : new double[0]};
                        for (int q = 0; q < tested.length; q++) {
                            int j = firstOutsideFloat32(tested[q]);
                            if (j >= 0) {
                                badStep = t;
                                badBatch = n;
                                badUnit = j;
                                badWhat = STAGES[q];
                                badValue = tested[q][j];
                                break;
                            }
                        }
                    }
                }
                System.arraycopy(hs, 0, hN, st, h);
                if (cN != null) {
                    System.arraycopy(cs, 0, cN, st, h);
                }
            }
            if (badWhat != null) {
                throw Float32Range.overflow(badWhat, k, badStep, badBatch, badUnit, badValue);
            }
            seq = out;
            in = h;
        }
        return new RnnOutput(new Tensor(new int[] {steps, b, h}, seq), new Tensor(new int[] {numLayers, b, h}, hN),
                cN == null ? null : new Tensor(new int[] {numLayers, b, h}, cN));
    }

    /** What forward tests against float32's range each step, in this order, as {@link Float32Range#overflow} names it. */
    private static final String[] STAGES = {Float32Range.INPUT_PROJECTION, Float32Range.RECURRENT_PRODUCT,
        Float32Range.HIDDEN_STATE, Float32Range.CELL_STATE};

    /** The first element float32 cannot hold (the {@link Float32Range} contract), or -1. */
    private static int firstOutsideFloat32(double[] a) {
        for (int j = 0; j < a.length; j++) {
            if (!Float32Range.holds(a[j])) {
                return j;
            }
        }
        return -1;
    }

    /**
     * {@code y = W x[off..] + bias}, for every row of W ({@code [rows][width]}, row-major), summing over the row's
     * nonzero columns {@code cols[r]} in the order given.
     */
    public static void matVec(double[] w, int[][] cols, int width, double[] bias, double[] x, int off, double[] y) {
        for (int r = 0; r < cols.length; r++) {
            double s = 0;
            for (int j : cols[r]) {
                s += w[r * width + j] * x[off + j];
            }
            y[r] = s + bias[r];
        }
    }

    /**
     * One cell update in place. {@code gi = W_ih x + b_ih}, {@code gh = W_hh h + b_hh}, both {@code [G*H]} in
     * PyTorch's gate order (i,f,g,o for LSTM; r,z,n for GRU, with r applied to {@code W_hn h + b_hn});
     * {@code hs}, {@code cs} are {@code [H]} (cs only for LSTM).
     */
    public static void step(CellType cell, int h, double[] gi, double[] gh, double[] hs, double[] cs) {
        switch (cell) {
            case RNN_RELU -> {
                for (int j = 0; j < h; j++) {
                    hs[j] = relu(gi[j] + gh[j]);
                }
            }
            case RNN_TANH -> {
                for (int j = 0; j < h; j++) {
                    hs[j] = Math.tanh(gi[j] + gh[j]);
                }
            }
            case GRU -> {
                for (int j = 0; j < h; j++) {
                    hs[j] = gru(gi[j] + gh[j], gi[h + j] + gh[h + j], gi[2 * h + j], gh[2 * h + j], hs[j]);
                }
            }
            case LSTM -> {
                for (int j = 0; j < h; j++) {
                    cs[j] = lstmCell(gi[j] + gh[j], gi[h + j] + gh[h + j], gi[2 * h + j] + gh[2 * h + j], cs[j]);
                    hs[j] = lstmHidden(gi[3 * h + j] + gh[3 * h + j], cs[j]);
                }
            }
        }
    }

    // One unit's update, shared with the cpu engine (CpuRun.cellUpdate), which calls these per element on its
    // float32 sums widened to double: the arguments are the gates' summed inputs, W_ih x + b_ih + W_hh h + b_hh.
    // Small static methods, so they inline into the engine's loop; timed against the formulas written out in the
    // engine (GRU and LSTM, hidden 1024, batch 4, 2 threads) the difference was within the 2-core machine's noise.

    /** ReLU cell: {@code h' = max(0, x)}. */
    static double relu(double x) {
        return Math.max(0.0, x);
    }

    /**
     * GRU cell: {@code r = σ(rIn)}, {@code z = σ(zIn)}, {@code n = tanh(nIh + r * nHh)}, {@code h' = (1 - z) n + z h},
     * where {@code nIh = W_in x + b_in} and {@code nHh = W_hn h + b_hn} (r applies to the recurrent part only).
     */
    static double gru(double rIn, double zIn, double nIh, double nHh, double hOld) {
        double r = sigmoid(rIn);
        double z = sigmoid(zIn);
        double n = Math.tanh(nIh + r * nHh);
        return (1.0 - z) * n + z * hOld;
    }

    /** LSTM cell state: {@code c' = σ(fIn) c + σ(iIn) tanh(gIn)}. */
    static double lstmCell(double iIn, double fIn, double gIn, double cOld) {
        double i = sigmoid(iIn);
        double f = sigmoid(fIn);
        double g = Math.tanh(gIn);
        return f * cOld + i * g;
    }

    /** LSTM hidden state: {@code h' = σ(oIn) tanh(c')}. */
    static double lstmHidden(double oIn, double c) {
        return sigmoid(oIn) * Math.tanh(c);
    }

    /** {@code 1 / (1 + e^-x)}. */
    public static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }
}
