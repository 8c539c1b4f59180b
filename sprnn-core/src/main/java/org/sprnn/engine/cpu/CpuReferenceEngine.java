package org.sprnn.engine.cpu;

import org.sprnn.SprnnException;
import org.sprnn.engine.ComposedFeatures;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The oracle: scalar float64, straight from PyTorch's equations, layer by layer, step by step.
 *
 * <p>Every other engine is tested against this one. It is written for obviousness, not speed: one
 * dot product per gate row ({@link CellEquations#matVec}), then the cell update of {@code nn.RNN}, {@code nn.GRU}
 * or {@code nn.LSTM}. Zero weights are skipped in the dot products (the sum is the same, term for term
 * in column order, and pruned models run several times faster): each row's nonzero columns are listed
 * once, when the engine is built.
 */
public final class CpuReferenceEngine implements Engine {
    public static final String NAME = "cpu-reference";

    private final RnnModel model;
    private final CellEquations.LayerArrays[] layers; // each layer's arrays, its rows' nonzero columns listed once
    private volatile boolean closed;

    public CpuReferenceEngine(RnnModel model) {
        if (model.bidirectional()) {
            throw new SprnnException("cpu-reference: a bidirectional model runs as a BidirectionalEngine of one engine per layer and direction (EngineProvider builds it)");
        }
        this.model = model;
        layers = new CellEquations.LayerArrays[model.numLayers()];
        for (int k = 0; k < layers.length; k++) {
            layers[k] = CellEquations.LayerArrays.of(model.layers().get(k));
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Lengths (as {@link org.sprnn.engine.LengthSegments}: one run per distinct length). */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return ComposedFeatures.ENGINE_FEATURES;
    }

    /** A session whose states live on the Java heap, checked now ({@link ComposedFeatures#session}). */
    @Override
    public org.sprnn.engine.Session openSession(int batch, Tensor h0, Tensor c0) {
        checkOpen();
        return ComposedFeatures.session(this, model, batch, h0, c0);
    }

    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        checkOpen();
        RunInputs.check(model, input, h0, c0);
        try {
            return CellEquations.forward(model, input, h0, c0, k -> layers[k], null);
        } catch (OutOfMemoryError e) { // no Error leaves the library
            long rows = (long) input.dim(0) * input.dim(1) * (model.cell().gates() + 1L) * model.hiddenSize();
            throw org.sprnn.JvmSupport.heapTooSmall(NAME + "'s run of input " + input.shapeString()
                    + " (its arrays [T][B][(G+1)H] float64 a layer)", 8 * rows, "run the sequence in pieces");
        }
    }

    /** Nothing to release (the engine holds only heap memory, which goes with it); from now on it refuses to run, as every engine does. */
    @Override
    public void close() {
        closed = true;
    }

    private void checkOpen() {
        if (closed) {
            throw new SprnnException(NAME + ": engine used after close()");
        }
    }
}
