package org.sprnn.engine;

import java.util.Optional;
import org.sprnn.model.RnnModel;

/**
 * Makes one kind of engine, and says when it cannot.
 *
 * <p>Implementations must not throw {@link LinkageError} or touch native libraries before
 * {@link #unavailableReason} has said they can.
 */
public interface EngineFactory {

    /**
     * The engine's name, e.g. {@code cuda-gemm}.
     *
     * @return the name, as {@code --engine} and {@link EngineOptions#engine()} take it
     */
    String name();

    /**
     * One line on what the engine is.
     *
     * @return the description, for {@code sprnn info}
     */
    String description();

    /**
     * Rank for {@code auto}: among feasible engines the lowest rank wins. The provider passes the model
     * and options so that a factory can rank itself by shape, density and batch.
     *
     * @param model the model to run
     * @param options the options of the run (batch hint, precision, ...)
     * @return the rank; lower is preferred
     */
    int rank(RnnModel model, EngineOptions options);

    /**
     * Why this engine cannot run this model with these options here, or empty if it can.
     *
     * @param model the model to run
     * @param options the options of the run (batch hint, precision, ...)
     * @return the reason, or empty where the engine can run the model
     */
    Optional<String> unavailableReason(RnnModel model, EngineOptions options);

    /**
     * The predicted cost per timestep on this machine's device, from a cost model calibrated by measurement
     * ({@link CostModel}), or empty where the engine has no model (then {@code auto} orders it by {@link #rank}
     * after every engine that has one, and {@code sprnn explain --tune} measures it). Called only when
     * {@link #unavailableReason} is empty; must not touch native libraries.
     *
     * @param model the model to run
     * @param options the options of the run (batch hint, precision, ...)
     * @return the predicted cost per step, or empty where this engine has no cost model
     */
    default java.util.Optional<StepCost> predict(RnnModel model, EngineOptions options) {
        return java.util.Optional.empty();
    }

    /**
     * What the engines this factory builds support beyond equal-length batches through unidirectional models
     * ({@link EngineFeature}); by default nothing. {@link EngineProvider#unavailableReason} refuses a
     * bidirectional model for a factory without {@link EngineFeature#BIDIRECTIONAL}.
     *
     * @return the features, empty by default
     */
    default java.util.Set<EngineFeature> features() {
        return java.util.Set.of();
    }

    /**
     * Builds the engine; call only when {@link #unavailableReason} is empty.
     *
     * @param model the model the engine runs
     * @param options the options of the run (threads, precision, ...)
     * @return the new engine, open; the caller closes it
     */
    Engine create(RnnModel model, EngineOptions options);
}
