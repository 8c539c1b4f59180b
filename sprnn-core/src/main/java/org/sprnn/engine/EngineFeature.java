package org.sprnn.engine;

import java.util.Set;
import org.sprnn.SprnnException;

/**
 * What an engine can do beyond a whole batch of equal-length sequences through a unidirectional model (issue
 * 17). An engine lists what it supports ({@link Engine#features()}, {@link EngineFactory#features()}); the one
 * check here refuses the rest with the same line for every engine, naming the engine and the feature.
 */
public enum EngineFeature {
    /** Per-sequence lengths ({@link SequenceLengths}), with PyTorch's {@code pack_padded_sequence} semantics. */
    LENGTHS("per-sequence lengths"),
    /** Bidirectional models ({@code *_reverse} tensors): output {@code [T][B][2H]}, states {@code [2L][B][H]}. */
    BIDIRECTIONAL("bidirectional models");

    private final String description;

    EngineFeature(String description) {
        this.description = description;
    }

    /**
     * What the feature is, as a refusal names it, e.g. {@code per-sequence lengths}.
     *
     * @return the description
     */
    public String description() {
        return description;
    }

    /**
     * The one line that refuses this feature on an engine, e.g. {@code cuda-sparse-persistent: per-sequence
     * lengths are not supported on this engine yet (issue 17)}.
     *
     * @param engine the engine's name
     * @return the refusal message
     */
    public String refusal(String engine) {
        return engine + ": " + description + " are not supported on this engine yet (issue 17)";
    }

    /**
     * Throws {@link #refusal} unless {@code supported} holds this feature.
     *
     * @param engine the engine's name
     * @param supported the engine's features
     * @throws SprnnException naming the engine and the feature
     */
    public void require(String engine, Set<EngineFeature> supported) {
        if (!supported.contains(this)) {
            throw new SprnnException(refusal(engine));
        }
    }
}
