package org.sprnn.engine.cpu;

import java.util.Optional;
import java.util.Set;
import org.sprnn.engine.ComposedFeatures;
import org.sprnn.engine.EngineFeature;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.model.RnnModel;

/**
 * Makes the {@code cpu} engine: available wherever the model's widths fit 16-bit column indices; ranked
 * below every GPU engine (rank &lt; 500) and above {@code cpu-reference} (1000) for {@code auto}.
 */
public final class CpuEngineFactory implements EngineFactory {
    @Override
    public String name() {
        return CpuEngine.NAME;
    }

    @Override
    public String description() {
        return "multi-threaded float32 over the nonzeros of W_ih and W_hh (CSR rows, batch innermost)";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        return 500;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        int widest = Math.max(model.inputSize(), model.outputSize()); // layer k > 0 of a bidirectional model reads 2H
        if (widest > UnitMajorCsr.MAX_COLS) {
            return Optional.of("input or hidden size " + widest + " exceeds " + UnitMajorCsr.MAX_COLS
                    + " (the cpu engine stores 16-bit column indices); use cpu-reference");
        }
        return Optional.empty();
    }

    /** Lengths and bidirectional models ({@link ComposedFeatures}: a bidirectional model runs as one engine per layer and direction). */
    @Override
    public Set<EngineFeature> features() {
        return ComposedFeatures.FACTORY_FEATURES;
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return ComposedFeatures.create(name(), model, layer -> new CpuEngine(layer, options.threads()));
    }
}
