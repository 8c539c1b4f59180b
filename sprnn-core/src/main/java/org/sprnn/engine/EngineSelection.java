package org.sprnn.engine;

import java.util.Map;

/**
 * The engine the provider chose, why, and why every other engine was not chosen.
 *
 * @param engine   the engine, open; the caller closes it
 * @param reason   why it was chosen
 * @param rejected engine name → why it was not used, in the provider's order
 */
public record EngineSelection(Engine engine, String reason, Map<String, String> rejected) implements AutoCloseable {

    public EngineSelection {
        rejected = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(rejected));
    }

    @Override
    public void close() {
        engine.close();
    }
}
