package org.sprnn.model;

import java.util.List;
import org.sprnn.SprnnException;

/**
 * A stack of recurrent layers of one cell type, unidirectional or bidirectional, validated on construction.
 *
 * <p>Layer {@code k} has {@code W_ih [G*H][I_k]}, {@code W_hh [G*H][H]}, biases {@code [G*H]}, where G is
 * the cell's gate count, {@code I_0} the model's input size and {@code I_k = H} for k &gt; 0 (as in
 * PyTorch, every layer has the same hidden size). Weights must be finite.
 *
 * <p>A bidirectional model (PyTorch's {@code bidirectional=True}) has a second set of layers, the reverse
 * direction's ({@code weight_ih_l{k}_reverse}, ...), one per layer, of the same shapes, except that layer
 * {@code k > 0} of either direction takes both directions' outputs of layer {@code k-1}: {@code I_k = 2H}. Its
 * output is {@code [T][B][2H]} (forward half, then reverse half) and its states are {@code [2L][B][H]}, ordered
 * layer 0 forward, layer 0 reverse, layer 1 forward, ... as in PyTorch.
 *
 * <p>Besides the weights, a model remembers the two things that decide how its PyTorch state dict is
 * named, so that a model loaded from a file, pruned and saved again loads back into the user's module
 * with {@code load_state_dict(strict=True)}: whether it has biases at all (PyTorch's {@code bias=False}
 * leaves {@code bias_*} out of the state dict; here the biases are then zeros, which every engine adds
 * as it would real ones) and the module prefix of its keys (e.g. {@code rnn.} for an
 * {@code nn.LSTM} held as {@code self.rnn}). Neither changes what the model computes.
 *
 * @param cell      the cell type
 * @param layers    one or more layers, input side first
 * @param bias      whether the state dict has {@code bias_ih_l{k}}/{@code bias_hh_l{k}} (PyTorch's
 *                  {@code bias}); where false every bias tensor must be all zeros
 * @param keyPrefix what precedes {@code weight_ih_l0} etc. in the state dict's keys, e.g.
 *                  {@code encoder.lstm.}; empty for none
 * @param reverseLayers the reverse direction's layers of a bidirectional model, as many as {@code layers};
 *                  empty for a unidirectional one
 */
public record RnnModel(CellType cell, List<Layer> layers, boolean bias, String keyPrefix, List<Layer> reverseLayers) {

    /**
     * A unidirectional model with biases and no key prefix: {@code RnnModel(cell, layers, true, "")}.
     *
     * @param cell the cell type
     * @param layers the layers, input layer first
     */
    public RnnModel(CellType cell, List<Layer> layers) {
        this(cell, layers, true, "");
    }

    /**
     * A unidirectional model: {@code RnnModel(cell, layers, bias, keyPrefix, List.of())}.
     *
     * @param cell the cell type
     * @param layers the layers, input layer first
     * @param bias whether the state dict has biases
     * @param keyPrefix the state dict's key prefix; empty for none
     */
    public RnnModel(CellType cell, List<Layer> layers, boolean bias, String keyPrefix) {
        this(cell, layers, bias, keyPrefix, List.of());
    }

    /**
     * Validates every layer against the cell (shapes, chaining of sizes, finite values), and that a model
     * without biases has only zero ones.
     */
    public RnnModel {
        if (cell == null) {
            throw new SprnnException("model has no cell type");
        }
        if (keyPrefix == null) {
            throw new SprnnException("model key prefix is null (use \"\" for none)");
        }
        if (layers == null) {
            throw new SprnnException("model has no layers (expected weight_ih_l0, weight_hh_l0, ...)");
        }
        requireWeights(layers, "");
        if (reverseLayers != null) {
            requireWeights(reverseLayers, "_reverse");
        }
        layers = List.copyOf(layers);
        reverseLayers = reverseLayers == null ? List.of() : List.copyOf(reverseLayers);
        if (layers.isEmpty()) {
            throw new SprnnException("model has no layers (expected weight_ih_l0, weight_hh_l0, ...)");
        }
        boolean bidirectional = !reverseLayers.isEmpty();
        if (bidirectional && reverseLayers.size() != layers.size()) {
            throw new SprnnException("bidirectional model has " + layers.size() + " forward layer" + (layers.size() > 1 ? "s" : "")
                    + " but " + reverseLayers.size() + " reverse (expected weight_ih_l{k}_reverse, ... for every layer k)");
        }
        int g = cell.gates();
        int h = layers.get(0).wHh().rank() == 2 ? layers.get(0).wHh().dim(1) : -1;
        if ((long) g * h > Integer.MAX_VALUE - 16 || (bidirectional && 2L * h > Integer.MAX_VALUE - 16)) {
            throw new SprnnException("weight_hh_l0 has shape " + layers.get(0).wHh().shapeString() + ": a hidden size of " + h
                    + " gives " + (long) g * h + " gate rows for cell " + cell + ", more than one array holds");
        }
        int in0 = layers.get(0).wIh().rank() == 2 ? layers.get(0).wIh().dim(1) : -1;
        for (int d = 0; d < (bidirectional ? 2 : 1); d++) {
            List<Layer> dir = d == 0 ? layers : reverseLayers;
            String suffix = d == 0 ? "" : "_reverse";
            for (int k = 0; k < dir.size(); k++) {
                Layer l = dir.get(k);
                check(l.wHh(), "weight_hh_l" + k + suffix, g * h, h, cell);
                int in = k == 0 ? in0 : (bidirectional ? 2 * h : h);
                if (k > 0 && l.wIh().rank() == 2 && l.wIh().dim(1) != in) {
                    throw new SprnnException("weight_ih_l" + k + suffix + " has shape " + l.wIh().shapeString()
                            + " but layer " + k + " takes the previous layer's " + (bidirectional ? "two directions' hidden states, "
                            + "of size 2 x " + h : "hidden state of size " + h) + ": expected [" + g * h + ", " + in + "]");
                }
                check(l.wIh(), "weight_ih_l" + k + suffix, g * h, in, cell);
                checkBias(l.bIh(), "bias_ih_l" + k + suffix, g * h, cell);
                checkBias(l.bHh(), "bias_hh_l" + k + suffix, g * h, cell);
                if (!bias && (l.bIh().countNonZero() > 0 || l.bHh().countNonZero() > 0)) {
                    throw new SprnnException("layer " + k + (d == 0 ? "" : " (reverse)") + " has nonzero biases but the model is "
                            + "declared without biases (bias=false): they would be lost from its state dict");
                }
            }
        }
    }

    /** Every layer present with both weight matrices (a null one named as a missing tensor, as a file's would be). */
    private static void requireWeights(List<Layer> dir, String suffix) {
        for (int k = 0; k < dir.size(); k++) {
            Layer l = dir.get(k);
            if (l == null) {
                throw new SprnnException("layer " + k + suffix + " is missing (null)");
            }
            if (l.wIh() == null || l.wHh() == null) {
                throw new SprnnException("missing tensor " + (l.wIh() == null ? "weight_ih_l" : "weight_hh_l") + k + suffix);
            }
        }
    }

    private static void check(Tensor t, String name, int rows, int cols, CellType cell) {
        if (t == null) {
            throw new SprnnException("missing tensor " + name);
        }
        if (t.rank() != 2) {
            throw new SprnnException(name + " has shape " + t.shapeString() + ": a weight matrix has two dimensions, [gate rows, inputs]");
        }
        if (rows <= 0 || cols <= 0) { // the size that should be taken from this layer (or layer 0) is 0
            throw new SprnnException(name + " has shape " + t.shapeString() + ": " + (rows <= 0 ? "a hidden size" : "an input size")
                    + " of 0 (a layer needs at least one hidden unit and one input)");
        }
        if (!t.hasShape(rows, cols)) {
            throw new SprnnException(name + " has shape " + t.shapeString() + ", expected [" + rows + ", " + cols
                    + "] for cell " + cell + " (" + cell.gates() + " gate rows per hidden unit)");
        }
        int bad = t.firstOutsideFloat32();
        if (bad >= 0) {
            throw new SprnnException(outsideFloat32(name, t.data()[bad], "row " + bad / cols + ", column " + bad % cols));
        }
    }

    private static void checkBias(Tensor t, String name, int rows, CellType cell) {
        if (t == null) {
            throw new SprnnException("missing tensor " + name);
        }
        if (!t.hasShape(rows)) {
            throw new SprnnException(name + " has shape " + t.shapeString() + ", expected [" + rows + "] for cell " + cell);
        }
        int bad = t.firstOutsideFloat32();
        if (bad >= 0) {
            throw new SprnnException(outsideFloat32(name, t.data()[bad], "index " + bad));
        }
    }

    /** What is wrong with a weight float32 cannot hold (engine.Float32Range states the contract). */
    private static String outsideFloat32(String name, double v, String where) {
        return Double.isFinite(v) ? name + " holds " + v + " at " + where + ", beyond float32's range (|v| <= 3.4028235E38): sprnn computes in float32"
                : name + " holds a non-finite value (" + v + ") at " + where;
    }

    /**
     * Input size of the first layer.
     *
     * @return I of layer 0
     */
    public int inputSize() {
        return layers.get(0).inputSize();
    }

    /**
     * Hidden size H (the same for every layer).
     *
     * @return H
     */
    public int hiddenSize() {
        return layers.get(0).hiddenSize();
    }

    /**
     * Number of stacked layers (a bidirectional model's layer counts once, for both its directions).
     *
     * @return the number of layers
     */
    public int numLayers() {
        return layers.size();
    }

    /**
     * Whether the model is bidirectional (has reverse layers).
     *
     * @return true where it has reverse layers
     */
    public boolean bidirectional() {
        return !reverseLayers.isEmpty();
    }

    /**
     * The number of directions.
     *
     * @return 2 for a bidirectional model, else 1
     */
    public int directions() {
        return bidirectional() ? 2 : 1;
    }

    /**
     * The width of the output per step.
     *
     * @return H, or 2H for a bidirectional model
     */
    public int outputSize() {
        return directions() * hiddenSize();
    }

    /**
     * The rows of the states {@code h0}, {@code h_n} (and c).
     *
     * @return layers x directions
     */
    public int stateLayers() {
        return directions() * numLayers();
    }

    /**
     * One layer of one direction.
     *
     * @param k the layer's index, from 0
     * @param d the direction: 0 forward, 1 reverse
     * @return the layer
     */
    public Layer layer(int k, int d) {
        return d == 0 ? layers.get(k) : reverseLayers.get(k);
    }

    /**
     * One layer of one direction as a unidirectional one-layer model of the same cell, bias flag and prefix (its input
     * size that of the layer: 2H for layer k &gt; 0 of a bidirectional model).
     *
     * @param k the layer's index, from 0
     * @param d the direction: 0 forward, 1 reverse
     * @return a one-layer model
     */
    public RnnModel singleLayer(int k, int d) {
        return new RnnModel(cell, List.of(layer(k, d)), bias, keyPrefix);
    }

    /**
     * The model with layer {@code k} (forward) replaced; bias flag, key prefix and reverse layers kept.
     *
     * @param k the layer's index, from 0
     * @param layer the new layer, of the same sizes
     * @return a new model
     */
    public RnnModel withLayer(int k, Layer layer) {
        var copy = new java.util.ArrayList<>(layers);
        copy.set(k, layer);
        return new RnnModel(cell, copy, bias, keyPrefix, reverseLayers);
    }

    /**
     * The same cell, bias flag and key prefix with other (forward) layers (e.g. pruned ones); the reverse layers kept.
     *
     * @param newLayers the layers, input layer first
     * @return a new model
     */
    public RnnModel withLayers(List<Layer> newLayers) {
        return new RnnModel(cell, newLayers, bias, keyPrefix, reverseLayers);
    }

    /**
     * The same cell, bias flag and key prefix with other layers of both directions ({@code reverse} empty: unidirectional).
     *
     * @param newLayers the forward layers, input layer first
     * @param reverse the reverse layers, as many as {@code newLayers}; empty for none
     * @return a new model
     */
    public RnnModel withLayers(List<Layer> newLayers, List<Layer> reverse) {
        return new RnnModel(cell, newLayers, bias, keyPrefix, reverse);
    }
}
