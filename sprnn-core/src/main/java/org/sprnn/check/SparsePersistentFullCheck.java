package org.sprnn.check;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.sprnn.SprnnException;
import org.sprnn.check.FullCheckJobs.Job;
import org.sprnn.check.FullCheckJobs.Shape;
import org.sprnn.check.FullCheckState.Planned;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.model.CellType;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;

/**
 * {@code sprnn kernel-check --full}: the whole correctness matrix issue 4 asks of {@code cuda-sparse-persistent} on
 * a real GPU, in one command that fits in a few minutes. Against {@code cpu-reference} (float64), outputs poisoned,
 * fresh random models and inputs, relative error ≤ 3e-3 with fp16 weights (2e-2 with bf16):
 * <ul>
 *   <li>matrix: every cell x hidden {64, 300, 1152, 2304, 4096} x batch {1, 3, 4, 8, 16} x density {1, 10, 30,
 *       100 %} x T {1, 7, 256}, default (auto) options: what fits must pass, what does not must be refused with the
 *       capacity numbers (checked in the text); a row above the bound whose draw amplifies 16-bit rounding (the CPU
 *       emulation of the kernel's roundings misses the bound too and brackets the kernel's error:
 *       {@link RoundingProbe.Explanation#amplified}) is reported apart, as amplified, and does not fail the check;</li>
 *   <li>ablation: every exchange x wide loads x bank-aware x balance (24 combinations) on representative shapes of
 *       every cell, the 24 sharing one model, input and reference per shape;</li>
 *   <li>run-time row ends: every cell x exchange at hidden 1152 with the general slot loop asked for. The synthetic
 *       rows are all alike, so full warps of more than one row get their row ends compiled in elsewhere
 *       ({@link org.sprnn.plan.KernelSpec#rowSlots}); at 1152 that is the cluster exchange's partition, whose jobs here
 *       are the general loop's counterpart (the other exchanges plan one unit a warp or warps without a unit, the
 *       matrix's own kernels);</li>
 *   <li>stacked layers (2 and 3, every cell), bf16 weights, hidden sizes not a multiple of 4 (5, 97, 301) with
 *       every exchange, sequences longer than one launch (h/c carried between launches of at most
 *       {@link SparsePersistentEngine.Variant#stepsPerLaunch} steps),
 *       the PyTorch golden fixtures (when a folder is given);</li>
 *   <li>faults: per exchange, a CTA made to stop (compiled-in stall) must make the run throw a one-line error naming
 *       layer, step and CTA, again on a second run, and a normal engine must still pass afterwards.</li>
 * </ul>
 * A drawn model whose float64 reference leaves fp16's range (a ReLU recurrence that explodes, e.g. one large weight
 * per row at hidden 64 and density 1%) cannot be held by the kernel's fp16 activations by design; such a shape is
 * checked with that model's W_hh halved until its reference stays in range, and the row says so.
 * Fast by construction: every model is planned once per batch in parallel (refusals decided before any reference is
 * computed), every distinct kernel is compiled in parallel into the cubin cache first (NVRTC per program and the
 * cache's write-then-rename are thread-safe), references are computed in parallel in GPU order while one thread runs
 * the GPU, and each engine reuses the check's plans ({@link EngineTesting#usePlans}).
 *
 * <p>This file is the check's order of work (plan, compile, queue references, run on the GPU, summarize). What it
 * covers is {@link FullCheckJobs}; the CPU work beside the GPU, {@link FullCheckState}; one job on the GPU,
 * {@link FullCheckRunner}; the stalled-CTA faults, {@link FullCheckFaults}; the PyTorch fixtures,
 * {@link FullCheckFixtures}; the printed table and summary, {@link FullCheckReport}.
 */
public final class SparsePersistentFullCheck {
    private SparsePersistentFullCheck() {
    }

    /**
     * Runs the full check on GPU 0; prints the markdown table and the summary to {@code out}, phase timings to
     * {@code progress}; returns the number of failures.
     *
     * @param fixtures folder of the golden fixtures ({@code manifest.json}), or null to skip them
     */
    public static int run(long seed, Path fixtures, PrintStream out, PrintStream progress) {
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow(() -> new SprnnException("kernel-check: no usable GPU: "
                + GpuStatus.problem().orElse("unknown")));
        long t0 = System.nanoTime();
        // the warp placement the engine plans with (SPRNN_PLACEMENT), so that a placement is checked before it is the default
        org.sprnn.sparse.WarpPlacement placement = org.sprnn.engine.cuda.SparsePersistentFactory.placement();
        if (placement != org.sprnn.plan.PlanOptions.defaults().placement()) {
            progress.printf(Locale.ROOT, "kernel-check --full: warp placement %s (SPRNN_PLACEMENT) wherever a job leaves the default, and for the fixtures%n",
                    placement.id());
        }
        List<Job> jobs = FullCheckJobs.jobs(seed, placement);
        FullCheckReport report = new FullCheckReport(out);
        try (FullCheckState st = new FullCheckState(limits)) {
            // 1. plan every (job, batch) in parallel; refusals are known before any reference is computed
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    st.plan(j, s.batch());
                }
            }
            Map<String, Object[]> kernels = new TreeMap<>(); // name → {kernel, arch}
            int planned = 0, refused = 0;
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    Planned p = FullCheckState.get(st.plan(j, s.batch()));
                    if (p.refusal() != null) {
                        refused++;
                        continue;
                    }
                    planned++;
                    for (Plan pl : p.plans()) {
                        EngineTesting.KernelBuild k = EngineTesting.sparsePersistentKernel(pl.spec(), j.variant());
                        kernels.putIfAbsent(k.name(), new Object[] {k, "sm_" + pl.spec().smArch()});
                    }
                }
            }
            for (CellType c : CellType.values()) { // the fault checks' kernels, compiled with the rest
                for (ExchangeMode e : ExchangeMode.values()) {
                    Job j = FullCheckFaults.faultJob(c, e, seed);
                    st.plan(FullCheckFaults.normalJob(j), 3);
                    Planned p = FullCheckState.get(st.plan(j, 3));
                    if (p.plans() != null) {
                        EngineTesting.KernelBuild k = EngineTesting.sparsePersistentKernel(p.plans().get(0).spec(), j.variant());
                        kernels.putIfAbsent(k.name(), new Object[] {k, "sm_" + p.plans().get(0).spec().smArch()});
                    }
                }
            }
            st.rows.clear(); // every plan is made: the CSR W_hh are no longer needed
            for (Job j : jobs) {
                st.modelUses.merge(j.model(), 1, Integer::sum);
                for (Shape s : j.shapes()) {
                    st.shapeUses.merge(s, 1, Integer::sum);
                }
            }
            long t1 = System.nanoTime();
            progress.printf(Locale.ROOT, "kernel-check --full: %d jobs, %d runs planned to fit, %d refused; planning %.1f s%n",
                    jobs.size(), planned, refused, (t1 - t0) / 1e9);
            // 2. every distinct kernel compiled in parallel into the cubin cache
            KernelCompiler compiler = new KernelCompiler();
            AtomicLong compileNanos = new AtomicLong();
            Map<String, String> compileErrors = new ConcurrentHashMap<>(); // kernel → NVRTC's error (its rows fail)
            List<Future<?>> compiles = new ArrayList<>();
            for (Map.Entry<String, Object[]> e : kernels.entrySet()) {
                EngineTesting.KernelBuild k = (EngineTesting.KernelBuild) e.getValue()[0];
                String arch = (String) e.getValue()[1];
                compiles.add(st.pool.submit(() -> {
                    long c0 = System.nanoTime();
                    try {
                        compiler.compile(k.source(), k.name(), k.defines(), arch);
                    } catch (RuntimeException ex) { // the engine compiles it again and its rows fail with the error
                        compileErrors.put(e.getKey(), FullCheckReport.oneLine(ex));
                    }
                    compileNanos.addAndGet(System.nanoTime() - c0);
                }));
            }
            // 3. references queued in GPU order behind the compiles
            for (Job j : jobs) {
                for (Shape s : j.shapes()) {
                    if (FullCheckState.get(st.plan(j, s.batch())).refusal() == null) {
                        st.reference(s);
                    }
                }
            }
            for (Future<?> f : compiles) {
                FullCheckState.get(f);
            }
            long t2 = System.nanoTime();
            progress.printf(Locale.ROOT, "kernel-check --full: %d kernels compiled (or cached) in %.1f s wall, %.1f s summed over threads; %d failed to compile%n",
                    kernels.size(), (t2 - t1) / 1e9, compileNanos.get() / 1e9, compileErrors.size());
            report.header(limits, seed);
            // 4. the GPU, one job at a time
            // the odd hidden sizes and the fixtures last: a kernel fault that kills the CUDA context there (as a
            // misaligned address at H = 97 once did) cannot take the rest of the matrix with it
            String lastSection = "";
            org.sprnn.Progress bar = org.sprnn.Progress.of("kernel-check --full", jobs.size(), progress);
            for (boolean odd : new boolean[] {false, true}) {
                if (odd) {
                    progress.printf(Locale.ROOT, "kernel-check --full: section faults at %.1f s%n", (System.nanoTime() - t0) / 1e9);
                    for (CellType c : CellType.values()) {
                        for (ExchangeMode e : ExchangeMode.values()) {
                            FullCheckFaults.faultCheck(st, report, FullCheckFaults.faultJob(c, e, seed));
                        }
                    }
                }
                for (Job j : jobs) {
                    if (j.section().equals("odd") != odd) {
                        continue;
                    }
                    if (!j.section().equals(lastSection)) {
                        progress.printf(Locale.ROOT, "kernel-check --full: section %s at %.1f s%n", j.section(), (System.nanoTime() - t0) / 1e9);
                        lastSection = j.section();
                    }
                    FullCheckRunner.runJob(st, report, j);
                    bar.step(j.section());
                }
            }
            if (fixtures != null) {
                progress.printf(Locale.ROOT, "kernel-check --full: section fixtures at %.1f s%n", (System.nanoTime() - t0) / 1e9);
                FullCheckFixtures.fixtures(limits, report, fixtures, placement);
            }
            return report.summarize((System.nanoTime() - t0) / 1e9);
        }
    }
}
