package org.sprnn.engine;

import java.util.Arrays;
import java.util.List;
import org.sprnn.model.Tensor;

/**
 * What a {@link DeviceTimer} measured: µs per run of each timed sample, for the whole sequence and for its
 * recurrent part alone.
 *
 * @param steps           T of the timed inputs (divide by it for µs per step)
 * @param fullMicros      the whole sequence per sample, µs (for engines that time only the recurrent
 *                        part, the same values as {@code recurrentMicros})
 * @param recurrentMicros the recurrent part per sample (the input projection of layer 0 excluded), µs
 * @param how             what was timed and how, for benchmark rows (e.g. the tuned product's algorithm)
 */
public record DeviceTimes(int steps, double[] fullMicros, double[] recurrentMicros, String how) {

    /**
     * Times an engine the best way it offers: its {@link Engine#deviceTimer()} where it has one, else the wall clock
     * around whole {@link Engine#run} calls (then the full and recurrent figures are the same samples).
     *
     * @param engine    the engine
     * @param inputSets one or more inputs of one shape {@code [T][B][I]}, rotated between runs
     * @param h0        initial hidden states, or {@code null} for zeros
     * @param c0        initial cell states (LSTM), or {@code null} for zeros
     * @param warmup    untimed runs first (a wall-clock engine then goes on warming up, as in
     *                  {@link #of(Engine, List, Tensor, Tensor, int, int, long)})
     * @param reps      timed runs
     * @return the samples, with what was timed and how
     */
    public static DeviceTimes of(Engine engine, List<Tensor> inputSets, Tensor h0,
                                 Tensor c0, int warmup, int reps) {
        return of(engine, inputSets, h0, c0, warmup, reps, Long.MAX_VALUE);
    }

    /**
     * As {@link #of(Engine, List, Tensor, Tensor, int, int)}, but an engine timed by the wall clock stops after
     * {@code wallBudgetNanos} of timed runs (at least {@link #MIN_WALL_RUNS}), so a slow engine (cpu-reference on a large
     * layer) cannot hold a benchmark for many minutes; {@link #how()} says how many runs were timed.
     *
     * @param engine          the engine
     * @param inputSets       one or more inputs of one shape {@code [T][B][I]}, rotated between runs
     * @param h0              initial hidden states, or {@code null} for zeros
     * @param c0              initial cell states (LSTM), or {@code null} for zeros
     * @param warmup          untimed runs first (a wall-clock engine goes on warming up until {@link #WALL_WARMUP_NANOS}
     *                        have passed, {@link #FIRST_WALL_WARMUP_NANOS} on its class's first timing in the process)
     * @param reps            timed runs at most
     * @param wallBudgetNanos the wall-clock engines' budget for the timed runs, ns
     * @return the samples, with what was timed and how
     */
    public static DeviceTimes of(Engine engine, List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps,
                                 long wallBudgetNanos) {
        var timer = engine.deviceTimer();
        if (timer.isPresent()) {
            return timer.get().time(inputSets, h0, c0, warmup, reps);
        }
        return wallClock(engine, inputSets, h0, c0, warmup, reps, wallBudgetNanos);
    }

    /**
     * Times an engine by the wall clock around whole {@link Engine#run} calls, whatever timer it has (the full and
     * recurrent figures are then the same samples): what a caller of {@code run} waits, transfers and conversions
     * included.
     *
     * <p>The JIT compiles an engine's loops while it runs, so the warm-up goes by time, not by a count of runs:
     * after the runs asked for, until {@link #WALL_WARMUP_NANOS} have passed ({@link #FIRST_WALL_WARMUP_NANOS} on the
     * engine class's first timing in the process), counted from the end of the first run (a class's first run loads
     * and links its code: 1.3 s of the cpu engine's at hidden 2304, which says nothing of its loops); and for as long
     * as the runs are still getting faster (the median of the last {@value #STEADY_WINDOW} runs more than 10%
     * below that of the {@value #STEADY_WINDOW} before, {@link #STEADY_GAIN}), up to 4x that time. Otherwise the
     * first configuration a process times comes out several times slower than the same one timed later.
     *
     * @param engine          the engine
     * @param inputSets       one or more inputs of one shape {@code [T][B][I]}, rotated between runs
     * @param h0              initial hidden states, or {@code null} for zeros
     * @param c0              initial cell states (LSTM), or {@code null} for zeros
     * @param warmup          untimed runs first, at least
     * @param reps            timed runs at most
     * @param wallBudgetNanos the budget for the timed runs (at least {@link #MIN_WALL_RUNS}), ns; a budget below the
     *                        warm-up's time also caps that (and its extension while the runs get faster, 4x that)
     * @return the samples, with what was timed and how
     */
    public static DeviceTimes wallClock(Engine engine, List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps,
                                        long wallBudgetNanos) {
        return wallClock(engine, inputSets, h0, c0, warmup, reps, wallBudgetNanos, System::nanoTime);
    }

    /** {@link #wallClock(Engine, List, Tensor, Tensor, int, int, long)} on the clock {@code nanos} (a test's own). */
    static DeviceTimes wallClock(Engine engine, List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps,
                                 long wallBudgetNanos, java.util.function.LongSupplier nanos) {
        String kind = engine.getClass().getName();
        boolean first = !WARMED.contains(kind);
        long need = Math.min(first ? FIRST_WALL_WARMUP_NANOS : WALL_WARMUP_NANOS, wallBudgetNanos);
        long[] last = new long[2 * STEADY_WINDOW]; // the latest warm-up runs' times, a ring
        long clock = 0; // the end of the first warm-up run: the warm-up's time counts from there
        int warmed = 0;
        while (warmed < MAX_WALL_WARMUP_RUNS) {
            long now = nanos.getAsLong();
            boolean timeLeft = warmed == 0 ? need > 0 : now - clock < need;
            boolean faster = warmed >= last.length && now - clock < 4 * need && stillFaster(last, warmed);
            if (warmed >= warmup && !timeLeft && !faster) {
                break;
            }
            long t0 = nanos.getAsLong();
            engine.run(inputSets.get(warmed % inputSets.size()), h0, c0);
            long t1 = nanos.getAsLong();
            last[warmed % last.length] = t1 - t0;
            if (warmed++ == 0) {
                clock = t1;
            }
        }
        if (first && (warmed > 0 && nanos.getAsLong() - clock >= FIRST_WALL_WARMUP_NANOS || warmed >= MAX_WALL_WARMUP_RUNS)) {
            WARMED.add(kind); // only a whole first warm-up counts: one cut short by a budget leaves the next its turn
        }
        double[] us = new double[reps];
        int n = 0;
        long start = nanos.getAsLong();
        while (n < reps && (n < MIN_WALL_RUNS || nanos.getAsLong() - start < wallBudgetNanos)) {
            long t0 = nanos.getAsLong();
            engine.run(inputSets.get(n % inputSets.size()), h0, c0);
            us[n++] = (nanos.getAsLong() - t0) / 1e3;
        }
        double[] taken = Arrays.copyOf(us, n);
        String how = "wall clock around run(), " + n + " runs" + (n < reps ? " (of " + reps + ": time budget)" : "") + " after "
                + warmed + " warm-up; recurrent = full (the input projection cannot be timed apart)";
        return new DeviceTimes(inputSets.get(0).shape()[0], taken, taken, how);
    }

    /** Whether the ring {@code last} (its newest entry at {@code (count - 1) % length}) shows the runs still speeding up. */
    static boolean stillFaster(long[] last, int count) {
        long[] recent = new long[STEADY_WINDOW];
        long[] before = new long[STEADY_WINDOW];
        for (int k = 0; k < STEADY_WINDOW; k++) {
            recent[k] = last[(count - 1 - k) % last.length];
            before[k] = last[(count - 1 - STEADY_WINDOW - k) % last.length];
        }
        Arrays.sort(recent);
        Arrays.sort(before);
        return recent[STEADY_WINDOW / 2] < (1 - STEADY_GAIN) * before[STEADY_WINDOW / 2];
    }

    /** Runs compared, twice over, to tell whether a wall-clock engine's runs are still getting faster. */
    static final int STEADY_WINDOW = 5;
    /** The gain between two windows of runs above which a wall-clock engine goes on warming up. */
    static final double STEADY_GAIN = 0.1;

    /** The fewest timed runs of a wall-clock engine, whatever its budget. */
    public static final int MIN_WALL_RUNS = 3;

    /** How long a wall-clock engine warms up before it is timed (at least the runs asked for), ns; at most the budget. */
    public static final long WALL_WARMUP_NANOS = 300_000_000L;
    /** The same for an engine class's first wall-clock timing in the process, when the JIT has compiled none of its loops, ns. */
    public static final long FIRST_WALL_WARMUP_NANOS = 1_500_000_000L;
    /** The most warm-up runs, for a tiny layer whose runs take microseconds. */
    static final int MAX_WALL_WARMUP_RUNS = 100_000;
    /** The engine classes that have had their whole first warm-up in this process. */
    private static final java.util.Set<String> WARMED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * The median of the recurrent samples per timestep.
     *
     * @return µs per timestep
     */
    public double recurrentMedianPerStep() {
        return quantile(recurrentMicros, 0.5) / steps;
    }

    /**
     * The {@code q}-quantile of some samples, linear between neighbouring samples.
     *
     * @param samples at least one value
     * @param q       0 (the least) to 1 (the greatest)
     * @return the quantile
     */
    public static double quantile(double[] samples, double q) {
        double[] s = samples.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return s[lo] + (s[hi] - s[lo]) * (pos - lo);
    }
}
