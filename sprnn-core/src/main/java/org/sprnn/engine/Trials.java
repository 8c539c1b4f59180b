package org.sprnn.engine;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Whether {@link EngineProvider#advise} measures the feasible engines, on how many steps, and where it keeps the
 * figures.
 *
 * @param run      measure the engines the cache has no figure for
 * @param steps    T of a trial
 * @param cache    where figures are kept and looked up, or {@code null} for none
 * @param progress receives a line before each trial and any note on the cache
 */
public record Trials(boolean run, int steps, TuneCache cache, Consumer<String> progress) {
    /** No trials, no cache: the cost model alone. */
    public static final Trials NONE = new Trials(false, 64, null, s -> { });
    /** T of a trial unless asked otherwise. */
    public static final int DEFAULT_STEPS = 64;
    /** Warm-up runs before a trial's timed ones. */
    static final int WARMUP = 2;
    /** Timed runs of a trial; the median counts. */
    static final int REPS = 7;

    /**
     * Validates the number of steps.
     *
     * @throws org.sprnn.SprnnException naming {@code --steps} if it is below 1
     */
    public Trials {
        if (steps < 1) {
            throw new org.sprnn.SprnnException("--steps: must be >= 1, got " + steps);
        }
    }

    /**
     * Look up the standard cache and measure what it lacks.
     *
     * @param steps T of a trial
     * @param progress receives a line before each trial and any note on the cache
     * @return trials that measure, with {@link TuneCache#standard()}
     */
    public static Trials tune(int steps, Consumer<String> progress) {
        return new Trials(true, steps, TuneCache.standard(), progress);
    }

    /**
     * Go by the standard cache where it has figures, and the cost model elsewhere; measure nothing.
     *
     * @param steps T of a trial, part of the cache's keys
     * @return trials that only read {@link TuneCache#standard()}
     */
    public static Trials cached(int steps) {
        return new Trials(false, steps, TuneCache.standard(), s -> { });
    }

    /**
     * A short trial: the engine built for the model, {@link #WARMUP} untimed and {@link #REPS} timed runs of a
     * random {@code [steps][batch][I]} input in [-1, 1]; the median µs per step, by the engine's device timer
     * (recurrent part, CUDA events) where it has one, else the wall clock around whole runs.
     */
    static StepCost measure(EngineFactory f, RnnModel model, EngineOptions options, int steps) {
        int batch = options.batchHint();
        double[] x = new double[steps * batch * model.inputSize()];
        SplittableRandom rnd = new SplittableRandom(20261206L);
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextDouble(-1, 1);
        }
        Tensor input = new Tensor(new int[] {steps, batch, model.inputSize()}, x);
        try (Engine e = f.create(model, options)) {
            DeviceTimes t = DeviceTimes.of(e, List.of(input), null, null, WARMUP, REPS);
            String clock = e.deviceTimer().isPresent() ? "CUDA events" : "wall clock";
            return new StepCost(median(t.recurrentMicros()) / t.steps(), "measured now, " + clock + ", median of " + REPS);
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
