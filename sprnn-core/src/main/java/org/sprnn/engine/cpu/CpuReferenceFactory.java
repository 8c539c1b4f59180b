package org.sprnn.engine.cpu;

import java.util.Optional;
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

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return new CpuReferenceEngine(model);
    }
}
