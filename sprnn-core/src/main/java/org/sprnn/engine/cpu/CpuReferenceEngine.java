package org.sprnn.engine.cpu;

import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The oracle: scalar float64, straight from PyTorch's equations, layer by layer, step by step.
 *
 * <p>Every other engine is tested against this one. It is written for obviousness, not speed: one
 * dot product per gate row ({@link #matVec}), then the cell update of {@code nn.RNN}, {@code nn.GRU}
 * or {@code nn.LSTM}. Zero weights are skipped in the dot products (the sum is the same, term for term
 * in column order, and pruned models run several times faster): each row's nonzero columns are listed
 * once, when the engine is built.
 */
public final class CpuReferenceEngine implements Engine {
    public static final String NAME = "cpu-reference";

    private final RnnModel model;
    private final int[][][] nonzeroColsIh; // [layer][row] → ascending columns of W_ih's nonzeros
    private final int[][][] nonzeroColsHh; // [layer][row] → ascending columns of W_hh's nonzeros

    public CpuReferenceEngine(RnnModel model) {
        this.model = model;
        int layers = model.numLayers();
        nonzeroColsIh = new int[layers][][];
        nonzeroColsHh = new int[layers][][];
        for (int k = 0; k < layers; k++) {
            nonzeroColsIh[k] = nonzeroColumns(model.layers().get(k).wIh());
            nonzeroColsHh[k] = nonzeroColumns(model.layers().get(k).wHh());
        }
    }

    private static int[][] nonzeroColumns(Tensor w) {
        int rows = w.dim(0), cols = w.dim(1);
        double[] d = w.data();
        int[][] out = new int[rows][];
        int[] buf = new int[cols];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int j = 0; j < cols; j++) {
                if (d[r * cols + j] != 0.0) {
                    buf[n++] = j;
                }
            }
            out[r] = java.util.Arrays.copyOf(buf, n);
        }
        return out;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        int b = RunInputs.check(model, input, h0, c0);
        int steps = input.dim(0), h = model.hiddenSize(), layers = model.numLayers();
        CellType cell = model.cell();
        double[] hN = new double[layers * b * h];
        double[] cN = cell.hasCellState() ? new double[layers * b * h] : null;
        if (h0 != null) {
            System.arraycopy(h0.data(), 0, hN, 0, hN.length);
        }
        if (c0 != null) {
            System.arraycopy(c0.data(), 0, cN, 0, cN.length);
        }
        double[] seq = input.data(); // [T][B][in] of the current layer
        int in = model.inputSize();
        for (int k = 0; k < layers; k++) {
            Layer layer = model.layers().get(k);
            double[] out = new double[steps * b * h];
            double[] hs = new double[h], cs = new double[h];
            double[] gi = new double[cell.gates() * h], gh = new double[cell.gates() * h];
            for (int n = 0; n < b; n++) {
                int st = (k * b + n) * h;
                System.arraycopy(hN, st, hs, 0, h);
                if (cN != null) {
                    System.arraycopy(cN, st, cs, 0, h);
                }
                for (int t = 0; t < steps; t++) {
                    CellEquations.matVec(layer.wIh().data(), nonzeroColsIh[k], in, layer.bIh().data(), seq, (t * b + n) * in, gi);
                    CellEquations.matVec(layer.wHh().data(), nonzeroColsHh[k], h, layer.bHh().data(), hs, 0, gh);
                    CellEquations.step(cell, h, gi, gh, hs, cs);
                    System.arraycopy(hs, 0, out, (t * b + n) * h, h);
                }
                System.arraycopy(hs, 0, hN, st, h);
                if (cN != null) {
                    System.arraycopy(cs, 0, cN, st, h);
                }
            }
            seq = out;
            in = h;
        }
        return new RnnOutput(new Tensor(new int[] {steps, b, h}, seq), new Tensor(new int[] {layers, b, h}, hN),
                cN == null ? null : new Tensor(new int[] {layers, b, h}, cN));
    }

    @Override
    public void close() {
        // holds no resources
    }
}
