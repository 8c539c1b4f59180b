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
import org.sprnn.engine.cuda.CudnnEngineFactory;
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
            new CudnnEngineFactory(),
            new CpuEngineFactory(),
            new CpuReferenceFactory());

    private EngineProvider() {
    }

    /**
     * Every engine sprnn knows, available here or not.
     *
     * @return the factories, in the provider's order
     */
    public static List<EngineFactory> factories() {
        return FACTORIES;
    }

    /**
     * The factory of that name.
     *
     * @param name an engine's name, e.g. {@code cpu}
     * @return its factory
     * @throws SprnnException if no engine has that name (the message lists the known ones)
     */
    public static EngineFactory factory(String name) {
        return FACTORIES.stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow(() ->
                new SprnnException("--engine: unknown engine '" + name + "': expected auto or one of "
                        + FACTORIES.stream().map(EngineFactory::name).collect(Collectors.joining(", "))));
    }

    /**
     * Why {@code f}'s engine cannot run this model with these options here, or empty if it can: the one check of
     * what the model and the options need against the factory's features ({@link EngineFactory#features()}: a
     * bidirectional model, or {@link EngineOptions#required()} lengths, on an engine without them gets
     * {@link EngineFeature#refusal}), then the factory's own {@link EngineFactory#unavailableReason}. Every caller
     * that asks whether an engine can run a model asks here.
     *
     * @param f the engine's factory
     * @param model the model to be run
     * @param options the options the engine would be built with
     * @return the reason, or empty if the engine can run the model
     */
    public static Optional<String> unavailableReason(EngineFactory f, RnnModel model, EngineOptions options) {
        if (model.bidirectional() && !f.features().contains(EngineFeature.BIDIRECTIONAL)) {
            return Optional.of(EngineFeature.BIDIRECTIONAL.refusal(f.name()));
        }
        for (EngineFeature needed : EngineFeature.values()) {
            if (options.required().contains(needed) && !f.features().contains(needed)) {
                return Optional.of(needed.refusal(f.name()));
            }
        }
        return f.unavailableReason(model, options);
    }

    /**
     * Chooses and builds an engine: a sequence-first one, or with {@link EngineOptions#batchFirst()} one
     * that takes and returns batch-first sequences (a {@link BatchFirstEngine} around the chosen engine,
     * which keeps its name).
     *
     * @param model the model to run
     * @param options the engine to use ({@code auto} or a name) and the run's options
     * @return the engine, open, with why it was chosen and why the others were not
     * @throws SprnnException if the named engine is unknown or cannot run this model here (with why)
     */
    public static EngineSelection select(RnnModel model, EngineOptions options) {
        return select(model, options, Trials.cached(Trials.DEFAULT_STEPS));
    }

    /**
     * As {@link #select(RnnModel, EngineOptions)}, {@code auto} deciding with these trials (e.g.
     * {@link Trials#tune}: measure each feasible engine the tuning cache has no figure for).
     *
     * @param model the model to run
     * @param options the engine to use ({@code auto} or a name) and the run's options
     * @param trials whether {@code auto} measures engines, and where it keeps the figures
     * @return the engine, open, with why it was chosen and why the others were not
     */
    public static EngineSelection select(RnnModel model, EngineOptions options, Trials trials) {
        Map<String, String> rejected = new LinkedHashMap<>();
        if (!options.engine().equals("auto")) {
            EngineFactory f = factory(options.engine());
            Optional<String> why = unavailableReason(f, model, options);
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
        EngineAdvice advice = advise(model, options, trials);
        if (advice.chosen() == null) {
            Map<String, String> why = new LinkedHashMap<>();
            advice.rows().forEach(r -> why.put(r.engine(), r.unavailable()));
            throw new SprnnException("no engine can run this model: " + why);
        }
        EngineAdvice.Row best = advice.row(advice.chosen()).orElseThrow();
        for (EngineAdvice.Row r : advice.rows()) {
            if (r != best) {
                rejected.put(r.engine(), r.feasible() ? "available, but " + slowerThan(r, best) : r.unavailable());
            }
        }
        return new EngineSelection(layout(factory(best.engine()).create(model, options), model, options), advice.reason(), rejected);
    }

    /**
     * Every engine for this model and these options: feasible or not and why, its predicted and measured µs per
     * step, and the one {@code auto} takes. {@code auto} takes the feasible engine of least cost (a measurement
     * from a trial where there is one, this run's or the {@link TuneCache}'s, else the {@link CostModel}'s
     * prediction); engines with neither come after those with one, in {@link EngineFactory#rank} order.
     *
     * @param model the model to run
     * @param options the run's options (the engine named there is ignored: every engine is judged)
     * @param trials whether to measure, and how; {@link Trials#NONE} to go by the cache and the model alone
     * @return one row per engine and the choice of {@code auto}
     */
    public static EngineAdvice advise(RnnModel model, EngineOptions options, Trials trials) {
        TuneCache cache = trials.cache();
        List<EngineAdvice.Row> rows = new ArrayList<>();
        for (EngineFactory f : FACTORIES) {
            Optional<String> why = unavailableReason(f, model, options);
            if (why.isPresent()) {
                // no GPU here: what the GPU engine would cost on the H100 the cost model is calibrated on, for the reader
                // (never a choice: auto takes feasible engines only)
                StepCost onH100 = null;
                if (f.name().startsWith("cuda-") && org.sprnn.engine.cuda.GpuStatus.deviceLimits().isEmpty()) {
                    try {
                        onH100 = f.predict(model, options).map(c -> new StepCost(c.microsPerStep(), c.basis() + ", on an H100 (assumed: no GPU here)"))
                                .orElse(null);
                    } catch (RuntimeException e) {
                        onH100 = null; // a model the planner refuses: no figure
                    }
                }
                rows.add(new EngineAdvice.Row(f.name(), why.get(), onH100, null, f.rank(model, options)));
                continue;
            }
            StepCost predicted = f.predict(model, options).orElse(null);
            StepCost measured = null;
            if (cache != null && !f.name().equals(org.sprnn.engine.cpu.CpuReferenceEngine.NAME)) {
                String key = TuneCache.key(deviceOf(f), f.name(), options, model);
                Optional<Double> kept = cache.get(key);
                if (kept.isPresent()) {
                    measured = new StepCost(kept.get(), "measured earlier (" + cache.file() + ")");
                } else if (trials.run()) {
                    trials.progress().accept("measuring " + f.name() + " ...");
                    measured = Trials.measure(f, model, options, trials.steps());
                    cache.put(key, measured.microsPerStep()).ifPresent(trials.progress());
                }
            }
            rows.add(new EngineAdvice.Row(f.name(), null, predicted, measured, f.rank(model, options)));
        }
        EngineAdvice.Row best = best(rows);
        if (best == null) {
            return new EngineAdvice(rows, null, "no engine can run this model here");
        }
        String reason = best.cost().map(c -> String.format(java.util.Locale.ROOT, "the least cost per step among the feasible engines: "
                + "%.2f µs (%s) for %s hidden %d, batch %d", c.microsPerStep(), c.basis(), model.cell(), model.hiddenSize(),
                options.batchHint())).orElse("the highest-ranked available engine for " + model.cell() + " hidden "
                + model.hiddenSize() + ", batch " + options.batchHint());
        return new EngineAdvice(rows, best.engine(), reason);
    }

    /** The feasible row of least cost; rows without a figure after those with one, by rank; null if none is feasible. */
    static EngineAdvice.Row best(List<EngineAdvice.Row> rows) {
        return rows.stream().filter(EngineAdvice.Row::feasible).min(Comparator
                .comparingDouble((EngineAdvice.Row r) -> r.cost().map(StepCost::microsPerStep).orElse(Double.POSITIVE_INFINITY))
                .thenComparingInt(EngineAdvice.Row::rank)).orElse(null);
    }

    private static String slowerThan(EngineAdvice.Row r, EngineAdvice.Row best) {
        if (r.cost().isPresent() && best.cost().isPresent()) {
            return String.format(java.util.Locale.ROOT, "%.2f µs per step (%s) against %.2f for %s", r.cost().get().microsPerStep(),
                    r.cost().get().basis(), best.cost().get().microsPerStep(), best.engine());
        }
        return "ranked below " + best.engine() + " for this model and batch";
    }

    /** What a trial's figure is about: the GPU for the CUDA engines, the host's processors for the others. */
    static String deviceOf(EngineFactory f) {
        if (f.name().startsWith("cuda-")) {
            return org.sprnn.engine.cuda.GpuStatus.deviceLimits().map(d -> d.name() + " " + d.smCount() + " SMs").orElse("no GPU");
        }
        return "host " + Runtime.getRuntime().availableProcessors() + " processors";
    }

    /** The engine as it is, or wrapped to take and return batch-first sequences where the options ask for it. */
    private static Engine layout(Engine engine, RnnModel model, EngineOptions options) {
        return options.batchFirst() ? new BatchFirstEngine(model, engine) : engine;
    }
}
