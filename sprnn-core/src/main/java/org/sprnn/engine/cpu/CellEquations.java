// CellEquations.java — PyTorch's recurrent cell equations in float64, written once: the oracle
// (CpuReferenceEngine) and the GPU kernel's rounding replay (engine.cuda.RoundingProbe) both step through
// these, so the two can never disagree about what a cell computes.
package org.sprnn.engine.cpu;

import org.sprnn.model.CellType;

/**
 * The float64 equations of {@code nn.RNN} (relu, tanh), {@code nn.GRU} and {@code nn.LSTM}: the sparse
 * matrix-vector product in a fixed summation order and the cell update in PyTorch's gate order.
 */
public final class CellEquations {
    private CellEquations() {
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
                    hs[j] = Math.max(0.0, gi[j] + gh[j]);
                }
            }
            case RNN_TANH -> {
                for (int j = 0; j < h; j++) {
                    hs[j] = Math.tanh(gi[j] + gh[j]);
                }
            }
            case GRU -> {
                for (int j = 0; j < h; j++) {
                    double r = sigmoid(gi[j] + gh[j]);
                    double z = sigmoid(gi[h + j] + gh[h + j]);
                    double n = Math.tanh(gi[2 * h + j] + r * gh[2 * h + j]);
                    hs[j] = (1.0 - z) * n + z * hs[j];
                }
            }
            case LSTM -> {
                for (int j = 0; j < h; j++) {
                    double i = sigmoid(gi[j] + gh[j]);
                    double f = sigmoid(gi[h + j] + gh[h + j]);
                    double g = Math.tanh(gi[2 * h + j] + gh[2 * h + j]);
                    double o = sigmoid(gi[3 * h + j] + gh[3 * h + j]);
                    cs[j] = f * cs[j] + i * g;
                    hs[j] = o * Math.tanh(cs[j]);
                }
            }
        }
    }

    /** {@code 1 / (1 + e^-x)}. */
    public static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }
}
