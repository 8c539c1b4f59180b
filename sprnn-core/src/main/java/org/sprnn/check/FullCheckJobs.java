package org.sprnn.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.sprnn.Precision;
import org.sprnn.engine.cuda.SparsePersistentEngine.Variant;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.PlanOptions;

/**
 * Why this file exists: what {@code kernel-check --full} covers, apart from how it runs. The matrix, ablation,
 * run-time row ends, stacked, bf16, odd-size and chunk sections as a list of jobs (one engine and the shapes it runs),
 * each model named by a key from which it is drawn again anywhere; {@code SparsePersistentFullCheckTest} enumerates
 * it without a GPU. The fault jobs are {@link FullCheckFaults}', the fixtures {@link FullCheckFixtures}'.
 */
final class FullCheckJobs {
    /** Input size of every drawn model. */
    static final int INPUT = 24;
    static final int[] HIDDEN = {64, 300, 1152, 2304, 4096};
    static final int[] BATCH = {1, 3, 4, 8, 16};
    static final double[] DENSITY = {0.01, 0.1, 0.3, 1.0};
    static final int[] STEPS = {1, 7, 256};

    private FullCheckJobs() {
    }

    /** A model: synthetic (cell, hidden, layers, density, seed) or a fixture file. */
    record ModelKey(CellType cell, int hidden, int layers, double density, long seed, String fixture, boolean unequalRows) {
        @Override
        public String toString() {
            return fixture != null ? fixture
                    : String.format(Locale.ROOT, "%s H=%d L=%d d=%.2f%s", cell.id(), hidden, layers, density, unequalRows ? " unequal rows" : "");
        }
    }

    /** One run: a model, batch and T, with given or seeded inputs. */
    record Shape(ModelKey model, int batch, int steps) {
    }

    /** One engine (model, plan options, variant) and the shapes it runs, in order. */
    record Job(String section, ModelKey model, PlanOptions options, Variant variant, List<Shape> shapes) {
        String optionsLabel() {
            return SparsePersistentSelfTest.optionsLabel(options)
                    + (variant.stepsPerLaunch() != SparsePersistentEngine.STEPS_PER_LAUNCH ? " " + variant.stepsPerLaunch() + "/launch" : "");
        }

        /** The case column of shape {@code s}'s row. */
        String label(Shape s) {
            return String.format(Locale.ROOT, "%s B=%d T=%d %s", model, s.batch(), s.steps(), optionsLabel());
        }
    }

    /** The jobs of the matrix, ablation, stacked, bf16 and chunk sections (faults and fixtures run apart). */
    static List<Job> jobs(long seed) {
        return jobs(seed, PlanOptions.defaults().placement());
    }

    /**
     * As {@link #jobs(long)}, with every job that leaves the warp placement at the default planned with
     * {@code placement} instead (the jobs that ask for a placement keep theirs): the matrix of the engine run with
     * {@code SPRNN_PLACEMENT}, checked before that placement becomes the default.
     */
    static List<Job> jobs(long seed, org.sprnn.sparse.WarpPlacement placement) {
        org.sprnn.sparse.WarpPlacement dflt = PlanOptions.defaults().placement();
        List<Job> jobs = defaultJobs(seed);
        if (placement == dflt) {
            return jobs;
        }
        List<Job> placed = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            placed.add(j.options().placement() != dflt ? j
                    : new Job(j.section(), j.model(), j.options().withPlacement(placement), j.variant(), j.shapes()));
        }
        return placed;
    }

    private static List<Job> defaultJobs(long seed) {
        List<Job> jobs = new ArrayList<>();
        Variant normal = Variant.NORMAL;
        PlanOptions auto = PlanOptions.defaults();
        for (CellType c : CellType.values()) {
            for (int h : HIDDEN) {
                for (double d : DENSITY) {
                    ModelKey m = synthetic(c, h, 1, d, seed);
                    List<Shape> shapes = new ArrayList<>();
                    for (int b : BATCH) {
                        for (int t : STEPS) {
                            shapes.add(new Shape(m, b, t));
                        }
                    }
                    jobs.add(new Job("matrix", m, auto, normal, shapes));
                }
            }
        }
        // the 24 switch combinations on representative shapes, one model/input/reference per shape
        int[][] ablationShapes = {{300, 3, 64}, {1152, 4, 256}};
        double[] ablationDensity = {0.1, 0.1};
        for (CellType c : CellType.values()) {
            for (int i = 0; i < ablationShapes.length; i++) {
                ModelKey m = synthetic(c, ablationShapes[i][0], 1, ablationDensity[i], seed);
                Shape s = new Shape(m, ablationShapes[i][1], ablationShapes[i][2]);
                for (ExchangeMode e : ExchangeMode.values()) {
                    for (int bits = 0; bits < 8; bits++) {
                        PlanOptions o = new PlanOptions(e, (bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, 0, 0, Precision.FP16);
                        jobs.add(new Job("ablation", m, o, normal, List.of(s)));
                    }
                }
            }
        }
        // the general slot loop (row ends tested at run time, as for pruned rows of unequal length) on layers whose rows
        // are all alike: with the cluster exchange the counterpart of the compiled row ends (SparsePersistentFullCheckTest
        // checks that those plans compile them in); the other exchanges plan the matrix's own kernels here
        for (CellType c : CellType.values()) {
            for (ExchangeMode e : ExchangeMode.values()) {
                ModelKey m = synthetic(c, 1152, 1, 0.1, seed);
                jobs.add(new Job("run-time row ends", m, auto.withExchange(e).withCompiledRowEnds(false), normal,
                        List.of(new Shape(m, 4, 256), new Shape(m, 3, 7))));
            }
        }
        // rows of unequal length (as magnitude pruning leaves them): the shared-tail layout with its row ends compiled in,
        // every exchange and the planner's choice, batches 1 to 16, and the general loop on the same layers
        for (CellType c : CellType.values()) {
            for (int h : new int[] {300, 1152}) {
                ModelKey m = unequalRows(c, h, 1, h == 300 ? 0.3 : 0.1, seed);
                List<Shape> shapes = List.of(new Shape(m, 4, 256), new Shape(m, 3, 7), new Shape(m, 1, 64), new Shape(m, 16, 7));
                jobs.add(new Job("unequal rows", m, auto, normal, shapes));
                for (ExchangeMode e : ExchangeMode.values()) {
                    jobs.add(new Job("unequal rows", m, auto.withExchange(e), normal, shapes.subList(0, 2)));
                }
                jobs.add(new Job("unequal rows", m, auto.withCompiledRowEnds(false), normal, shapes.subList(0, 2)));
                jobs.add(new Job("unequal rows, tail smem", m, auto.withTailSmem(true), normal, shapes.subList(0, 2)));
                // every other warp placement (SPRNN_PLACEMENT) where they move warps: one row a warp on the timestamped
                // exchange (the grid barrier's contiguous CTAs and the shared-tail layouts ignore them)
                if (c.gates() == 1) {
                    for (org.sprnn.sparse.WarpPlacement pl : org.sprnn.sparse.WarpPlacement.values()) {
                        if (pl == auto.placement()) {
                            continue;
                        }
                        jobs.add(new Job("unequal rows, placement " + pl.id(), m, auto.withExchange(ExchangeMode.TIMESTAMPS).withPlacement(pl),
                                normal, shapes));
                    }
                }
                if (c.gates() == 1) { // warps of one row sharing a tail across their CTA (opt-in: SPRNN_ROW_ENDS=cta)
                    for (ExchangeMode e : ExchangeMode.values()) {
                        jobs.add(new Job("unequal rows, cta tail", m, auto.withExchange(e).withCtaTails(true), normal,
                                e == ExchangeMode.TIMESTAMPS ? shapes : shapes.subList(0, 2)));
                    }
                }
            }
        }
        for (CellType c : CellType.values()) {
            ModelKey two = synthetic(c, 1152, 2, 0.1, seed);
            jobs.add(new Job("stacked", two, auto, normal, List.of(new Shape(two, 4, 256), new Shape(two, 3, 7))));
            ModelKey three = synthetic(c, 300, 3, 0.3, seed);
            jobs.add(new Job("stacked", three, auto, normal, List.of(new Shape(three, 3, 64), new Shape(three, 1, 7))));
        }
        PlanOptions bf16 = new PlanOptions(null, true, true, true, 0, 0, Precision.BF16);
        for (CellType c : CellType.values()) {
            for (int[] hb : new int[][] {{300, 3, 64}, {1152, 4, 256}, {2304, 8, 7}}) {
                ModelKey m = synthetic(c, hb[0], 1, hb[0] == 2304 ? 0.01 : 0.1, seed);
                jobs.add(new Job(Precision.BF16.id(), m, bf16, normal, List.of(new Shape(m, hb[1], hb[2]))));
            }
        }
        // hidden sizes that are not multiples of 4 or 8 (buffer alignment), every exchange, batches 1 to 5
        for (CellType c : CellType.values()) {
            for (int h : new int[] {5, 97, 301}) {
                ModelKey m = synthetic(c, h, 1, h == 5 ? 0.6 : 0.1, seed);
                for (ExchangeMode e : ExchangeMode.values()) {
                    jobs.add(new Job("odd", m, auto.withExchange(e), normal,
                            List.of(new Shape(m, 1, 64), new Shape(m, 2, 7), new Shape(m, 4, 64), new Shape(m, 5, 7))));
                }
            }
        }
        // sequences longer than one launch: every exchange at 16 steps per launch, and the default 256 at T 600
        for (CellType c : CellType.values()) {
            ModelKey m = synthetic(c, 300, 1, 0.1, seed);
            for (ExchangeMode e : ExchangeMode.values()) {
                jobs.add(new Job("chunks", m, auto.withExchange(e),
                        normal.withStepsPerLaunch(16),
                        List.of(new Shape(m, 3, 100), new Shape(m, 4, 16))));
            }
            ModelKey big = synthetic(c, 1152, 1, 0.1, seed);
            jobs.add(new Job("chunks", big, auto, normal, List.of(new Shape(big, 4, 600))));
        }
        return jobs;
    }

    /** The key of a drawn model: its seed depends on the check's seed and on the shape, never on the JVM. */
    static ModelKey synthetic(CellType c, int h, int layers, double d, long seed) {
        String id = String.format(Locale.ROOT, "%s/%d/%d/%.2f", c.id(), h, layers, d);
        return new ModelKey(c, h, layers, d, seed * 1_000_003L + id.hashCode(), null, false);
    }

    /** As {@link #synthetic}, the rows of unequal counts ({@link org.sprnn.model.SyntheticModels#randomUnequalRows}). */
    static ModelKey unequalRows(CellType c, int h, int layers, double d, long seed) {
        ModelKey k = synthetic(c, h, layers, d, seed);
        return new ModelKey(c, h, layers, d, k.seed() * 31 + 7, null, true);
    }
}
