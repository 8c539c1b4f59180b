package org.sprnn.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.DoubleUnaryOperator;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Which of the kernel's fp16 roundings drives the rare {@code kernel-check --full} failures (relative error above
 * 3e-3 on small, sparse, long-T draws): for many random draws of a configuration, the {@link RoundingProbe} error
 * (against the float64 reference, the check's metric) with (a) only W_hh rounded to fp16, (b) only h rounded,
 * (c) both (what the kernel does), (d) W_hh split in two fp16 words (hi + lo, {@link Precision#encodeResidual})
 * with h rounded. Models and inputs are drawn as {@link SparsePersistentFullCheck} draws them (input size 24, W_ih
 * dense, inputs and states uniform in [-1, 1), the same per-shape input seeds), from {@code draws} consecutive model
 * seeds; a draw whose reference leaves fp16's range is damped as the check damps it (W_hh halved until in range).
 * A measuring tool, not a test (a few minutes of CPU per thousand draws at H 300):
 *
 * <pre>
 *   java -cp ... org.sprnn.check.RoundingSourcesSurvey DRAWS THREADS [H ...]
 *   java -cp ... org.sprnn.check.RoundingSourcesSurvey --rows SEED ...   the check's own draws at those seeds
 * </pre>
 */
final class RoundingSourcesSurvey {
    static final double TOLERANCE = Precision.FP16.tolerance();
    static final String[] MODES = {"(a) W fp16", "(b) h fp16", "(c) both", "(d) W split + h fp16"};

    private RoundingSourcesSurvey() {
    }

    /** The probe's weight rounding and h rounding of each mode, in {@link #MODES} order. */
    static double[] errors(RnnModel m, Tensor x, Tensor h0, Tensor c0, RnnOutput want) {
        DoubleUnaryOperator fp16 = v -> RoundingProbe.round16(v, Precision.FP16);
        DoubleUnaryOperator split = v -> RoundingProbe.splitRound16(v, Precision.FP16);
        return new double[] {
                RelativeError.of(RoundingProbe.runRounded(m, x, h0, c0, fp16, false, 0, 0), want),
                RelativeError.of(RoundingProbe.runRounded(m, x, h0, c0, null, true, 0, 0), want),
                RelativeError.of(RoundingProbe.runRounded(m, x, h0, c0, fp16, true, 0, 0), want),
                RelativeError.of(RoundingProbe.runRounded(m, x, h0, c0, split, true, 0, 0), want)};
    }

    /** One draw: the four errors, and the W_hh factor the check would use (1 unless the reference explodes). */
    record Draw(double[] errors, double damping) {
    }

    /** The check's draw of one shape: model {@code modelSeed}, inputs seeded as the check seeds them. */
    static Draw draw(CellType cell, int hidden, double density, int batch, int steps, long modelSeed) {
        RnnModel m = SyntheticModels.random(cell, FullCheckJobs.INPUT, hidden, 1, density, 1.0, modelSeed);
        long s = modelSeed * 31 + batch * 1009L + steps;
        Tensor x = SyntheticModels.input(steps, batch, FullCheckJobs.INPUT, s + 1);
        Tensor h0 = SyntheticModels.state(1, batch, hidden, s + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(1, batch, hidden, s + 3) : null;
        RnnOutput want = new CpuReferenceEngine(m).run(x, h0, c0);
        Fp16Range.Damped d = Fp16Range.damp(m, x, h0, c0, want);
        return new Draw(errors(d.model(), x, h0, c0, d.want()), d.factor());
    }

    /** The model seed {@code kernel-check --full --seed seed} uses for a matrix model. */
    static long checkModelSeed(CellType c, int hidden, double density, long seed) {
        return FullCheckJobs.jobs(seed).stream()
                .filter(j -> j.section().equals("matrix") && j.model().cell() == c && j.model().hidden() == hidden
                        && j.model().density() == density)
                .findFirst().orElseThrow().model().seed();
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--rows")) {
            rows(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        int draws = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        int[] hidden = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray() : new int[] {64, 300};
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        System.out.printf(Locale.ROOT, "# %d draws per configuration (model seeds 1000000*config+i), T 256, tolerance %.0e%n", draws, TOLERANCE);
        System.out.println("| config | mode | > 3e-3 | worst | median | p99 | damped draws | > 3e-3 of the damped | > 3e-3 here, not with (c) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        int config = 0;
        for (int h : hidden) {
            for (CellType c : CellType.values()) {
                for (double d : new double[] {0.01, 0.1}) {
                    for (int b : new int[] {1, 3}) {
                        config++;
                        long t0 = System.nanoTime();
                        List<Future<Draw>> fs = new ArrayList<>();
                        for (int i = 0; i < draws; i++) {
                            long seed = 1_000_000L * config + i;
                            fs.add(pool.submit(() -> draw(c, h, d, b, 256, seed)));
                        }
                        double[][] e = new double[MODES.length][draws];
                        int damped = 0;
                        int[] overDamped = new int[MODES.length];
                        int[] overNotBoth = new int[MODES.length]; // over in this mode on a draw that (c), the kernel's roundings, passes
                        for (int i = 0; i < draws; i++) {
                            Draw dr = fs.get(i).get();
                            damped += dr.damping() < 1 ? 1 : 0;
                            for (int k = 0; k < MODES.length; k++) {
                                e[k][i] = dr.errors()[k];
                                overDamped[k] += dr.damping() < 1 && !(e[k][i] <= TOLERANCE) ? 1 : 0;
                            }
                            for (int k = 0; k < MODES.length; k++) {
                                overNotBoth[k] += !(e[k][i] <= TOLERANCE) && e[2][i] <= TOLERANCE ? 1 : 0;
                            }
                        }
                        String name = String.format(Locale.ROOT, "%s H=%d d=%.2f B=%d", c.id(), h, d, b);
                        for (int k = 0; k < MODES.length; k++) {
                            double[] v = e[k].clone();
                            Arrays.sort(v); // NaN (a draw that still explodes) sorts last and counts as over
                            long over = Arrays.stream(v).filter(x -> !(x <= TOLERANCE)).count();
                            System.out.printf(Locale.ROOT, "| %s | %s | %d/%d (%.2f%%) | %.2e | %.2e | %.2e | %d | %d | %d |%n", name, MODES[k], over, draws,
                                    100.0 * over / draws, v[draws - 1], v[draws / 2], v[(int) Math.min(draws - 1, Math.ceil(0.99 * draws) - 1)], damped,
                                    overDamped[k], overNotBoth[k]);
                        }
                        System.err.printf(Locale.ROOT, "%s: %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        }
        pool.shutdown();
    }

    /** The check's own draws (matrix models of H 64 and 300 at d 1% and 10%, B 1/3/16, T 256) at the given seeds. */
    private static void rows(String[] seeds) {
        System.out.println("| check seed | config | (a) W fp16 | (b) h fp16 | (c) both | (d) W split + h fp16 | W_hh factor |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (String sd : seeds) {
            long seed = Long.parseLong(sd);
            for (int h : new int[] {64, 300}) {
                for (CellType c : CellType.values()) {
                    for (double d : new double[] {0.01, 0.1}) {
                        long ms = checkModelSeed(c, h, d, seed);
                        for (int b : new int[] {1, 3, 16}) {
                            Draw dr = draw(c, h, d, b, 256, ms);
                            double[] e = dr.errors();
                            System.out.printf(Locale.ROOT, "| %d | %s H=%d d=%.2f B=%d T=256 | %.2e | %.2e | %.2e | %.2e | %s |%n", seed, c.id(), h, d, b,
                                    e[0], e[1], e[2], e[3], dr.damping());
                        }
                    }
                }
            }
        }
    }
}
