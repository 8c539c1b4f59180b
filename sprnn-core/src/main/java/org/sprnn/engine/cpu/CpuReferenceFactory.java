package org.sprnn.engine.cpu;

import java.util.Optional;
import java.util.Set;
import org.sprnn.engine.ComposedFeatures;
import org.sprnn.engine.EngineFeature;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.model.RnnModel;

/** Makes the {@code cpu-reference} engine: always available, always last choice for {@code auto}. */
public final class CpuReferenceFactory implements EngineFactory {
    @Override
    public String name() {
        return CpuReferenceEngine.NAME;
    }

    @Override
    public String description() {
        return "scalar float64 from PyTorch's equations; the oracle";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        return 1000;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        return Optional.empty();
    }

    /** Lengths and bidirectional models ({@link ComposedFeatures}: a bidirectional model runs as one engine per layer and direction). */
    @Override
    public Set<EngineFeature> features() {
        return ComposedFeatures.FACTORY_FEATURES;
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return ComposedFeatures.create(name(), model, layer -> new CpuReferenceEngine(layer));
    }
}
