package org.sprnn.engine;

import java.util.Map;

/**
 * The engine the provider chose, why, and why every other engine was not chosen.
 *
 * <p>The selection owns the engine: close it (try-with-resources) and the engine is closed. One that is
 * dropped unclosed leaves the engine to the garbage collector, which for the CUDA engines frees nothing
 * before the process exits ({@link Engine}).
 *
 * @param engine   the engine, open; the caller closes it (through this selection or directly)
 * @param reason   why it was chosen
 * @param rejected engine name → why it was not used, in the provider's order
 */
public record EngineSelection(Engine engine, String reason, Map<String, String> rejected) implements AutoCloseable {

    /** Copies {@code rejected}, which the record then holds unmodifiable, in its order. */
    public EngineSelection {
        rejected = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(rejected));
    }

    /** Closes the engine; idempotent. */
    @Override
    public void close() {
        engine.close();
    }
}
