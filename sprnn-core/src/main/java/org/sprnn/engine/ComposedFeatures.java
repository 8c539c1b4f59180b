package org.sprnn.engine;

// Every engine gets sequences of different lengths and bidirectional models the same way unless it has a path of its
// own: lengths as one run per distinct length from the carried states (LengthSegments, through Engine.run's default),
// a bidirectional model as one unidirectional one-layer engine per layer and direction (BidirectionalEngine). Both
// rest on nothing but the engine's plain run, so the CPU engines and the GPU engines wire them up alike, here.

import java.util.Set;
import java.util.function.Function;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The one wiring of {@link EngineFeature}s by composition, shared by every engine factory and engine: a factory
 * lists {@link #FACTORY_FEATURES} and builds through {@link #create}; the engine it builds for a unidirectional
 * model lists {@link #ENGINE_FEATURES} (lengths, by {@link LengthSegments} unless it overrides
 * {@link Engine#run(Tensor, Tensor, Tensor, SequenceLengths)}) and opens its sessions through {@link #session}.
 */
public final class ComposedFeatures {
    /** What a factory that builds through {@link #create} supports: lengths and bidirectional models. */
    public static final Set<EngineFeature> FACTORY_FEATURES = Set.of(EngineFeature.LENGTHS, EngineFeature.BIDIRECTIONAL);
    /**
     * What an engine of a unidirectional model supports: lengths (the bidirectional composition is the factory's, so
     * the engine itself never sees a bidirectional model).
     */
    public static final Set<EngineFeature> ENGINE_FEATURES = Set.of(EngineFeature.LENGTHS);

    private ComposedFeatures() {
    }

    /**
     * The engine for {@code model}: {@code build}'s own for a unidirectional model, else a {@link BidirectionalEngine}
     * of one {@code build} engine per layer and direction.
     *
     * @param name  the engine's name (a bidirectional engine takes that of the engines it is made of)
     * @param model the model
     * @param build makes a sequence-first engine for a unidirectional model, one that supports
     *              {@link EngineFeature#LENGTHS}
     * @return the engine, open; the caller closes it
     * @throws org.sprnn.SprnnException what {@code build} throws (for a bidirectional model, the engines built so far
     *                                  are closed first)
     */
    public static Engine create(String name, RnnModel model, Function<RnnModel, Engine> build) {
        return model.bidirectional() ? new BidirectionalEngine(name, model, build) : build.apply(model);
    }

    /**
     * A session of {@code engine} whose states live on the Java heap ({@link Engine#openSession}'s default), its
     * initial states checked against the model now and zeros where not given, so that {@link Session#state()} has
     * them from the start.
     *
     * @param engine the engine that runs each chunk from the carried states
     * @param model  the engine's (unidirectional) model
     * @param batch  the batch size of every chunk (≥ 1)
     * @param h0     initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0     initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @return the session, open
     * @throws org.sprnn.SprnnException if the batch is below 1 or the states do not fit the model and the batch
     */
    public static Session session(Engine engine, RnnModel model, int batch, Tensor h0, Tensor c0) {
        Tensor[] states = RunInputs.sessionStates(model, batch, h0, c0);
        return new CarriedStateSession(engine, batch, states[0], states[1]);
    }
}
