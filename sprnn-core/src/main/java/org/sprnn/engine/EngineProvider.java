package org.sprnn.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuEngineFactory;
import org.sprnn.engine.cpu.CpuReferenceFactory;
import org.sprnn.engine.cuda.CudaEngineFactory;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.SparsePersistentFactory;
import org.sprnn.model.RnnModel;

/**
 * The one place that knows every engine and picks one, recording why each other engine was not used.
 *
 * <p>{@code auto} takes the feasible engine of lowest {@link EngineFactory#rank}; a named engine is
 * taken if feasible and otherwise refused with its reason.
 */
public final class EngineProvider {

    private static final List<EngineFactory> FACTORIES = List.of(
            new SparsePersistentFactory(),
            SparsePersistentFactory.dense(),
            new CudaEngineFactory(CudaRnnEngine.Kind.GEMM),
            new CudaEngineFactory(CudaRnnEngine.Kind.SPMM),
            new CpuEngineFactory(),
            new CpuReferenceFactory());

    private EngineProvider() {
    }

    /** Every engine sprnn knows, available here or not. */
    public static List<EngineFactory> factories() {
        return FACTORIES;
    }

    /** The factory of that name. */
    public static EngineFactory factory(String name) {
        return FACTORIES.stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow(() ->
                new SprnnException("--engine: unknown engine '" + name + "': expected auto or one of "
                        + FACTORIES.stream().map(EngineFactory::name).collect(Collectors.joining(", "))));
    }

    /**
     * Chooses and builds an engine: a sequence-first one, or with {@link EngineOptions#batchFirst()} one
     * that takes and returns batch-first sequences (a {@link BatchFirstEngine} around the chosen engine,
     * which keeps its name).
     *
     * @throws SprnnException if the named engine is unknown or cannot run this model here (with why)
     */
    public static EngineSelection select(RnnModel model, EngineOptions options) {
        Map<String, String> rejected = new LinkedHashMap<>();
        if (!options.engine().equals("auto")) {
            EngineFactory f = factory(options.engine());
            Optional<String> why = f.unavailableReason(model, options);
            if (why.isPresent()) {
                throw new SprnnException("engine " + f.name() + " is unavailable: " + why.get());
            }
            for (EngineFactory other : FACTORIES) {
                if (other != f) {
                    rejected.put(other.name(), "not requested (--engine " + f.name() + ")");
                }
            }
            return new EngineSelection(layout(f.create(model, options), model, options), "requested with --engine", rejected);
        }
        List<EngineFactory> byRank = new ArrayList<>(FACTORIES);
        byRank.sort(Comparator.comparingInt(f -> f.rank(model, options)));
        EngineFactory chosen = null;
        for (EngineFactory f : byRank) {
            Optional<String> why = f.unavailableReason(model, options);
            if (chosen == null && why.isEmpty()) {
                chosen = f;
            } else if (why.isPresent()) {
                rejected.put(f.name(), why.get());
            } else {
                rejected.put(f.name(), "available, but ranked below " + chosen.name() + " for this model and batch");
            }
        }
        if (chosen == null) {
            throw new SprnnException("no engine can run this model: " + rejected);
        }
        return new EngineSelection(layout(chosen.create(model, options), model, options), "the highest-ranked available engine for "
                + model.cell() + " hidden " + model.hiddenSize() + ", batch " + options.batchHint(), rejected);
    }

    /** The engine as it is, or wrapped to take and return batch-first sequences where the options ask for it. */
    private static Engine layout(Engine engine, RnnModel model, EngineOptions options) {
        return options.batchFirst() ? new BatchFirstEngine(model, engine) : engine;
    }
}
