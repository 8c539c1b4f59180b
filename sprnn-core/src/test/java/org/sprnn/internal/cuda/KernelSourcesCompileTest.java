package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;

/**
 * CI check without a GPU: every kernel source compiles with {@code nvcc} for sm_80 and sm_90
 * ({@code -cubin -Xptxas -v}), with its default defines; registers and spills per kernel are printed,
 * and a compile error fails the test. Skipped, with the reason, where nvcc is absent.
 */
class KernelSourcesCompileTest {
    private static final Pattern FUNCTION = Pattern.compile("Compiling entry function '([^']+)' for '(sm_\\d+)'");
    private static final Pattern SPILLS = Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern REGS = Pattern.compile("Used (\\d+) registers");

    /** nvcc from CUDA_HOME, PATH, /usr/local/cuda, /usr/local/bin; or null. */
    static Path nvcc() {
        return cudaTool("nvcc");
    }

    /** A CUDA tool ({@code nvcc}, {@code nvdisasm}) from CUDA_HOME, PATH, /usr/local/cuda, /usr/local/bin; or null. */
    static Path cudaTool(String name) {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) {
            candidates.add(Path.of(home, "bin", name));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty()) {
                candidates.add(Path.of(dir, name));
            }
        }
        candidates.add(Path.of("/usr/local/cuda/bin", name));
        candidates.add(Path.of("/usr/local/bin", name));
        return candidates.stream().filter(Files::isExecutable).findFirst().orElse(null);
    }

    static Path kernelDir() throws URISyntaxException {
        URL u = KernelSourcesCompileTest.class.getClassLoader().getResource(KernelCompiler.RESOURCE_DIR + "cell_math.cuh");
        assertThat(u).as("kernel resources on the test class path").isNotNull();
        return Path.of(u.toURI()).getParent();
    }

    /** Compiles one source; returns nvcc's output (ptxas report). */
    static String compile(Path nvcc, Path source, String arch, List<String> defines, Path outDir)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(nvcc.toString(), "-arch=" + arch, "-cubin", "-Xptxas", "-v", "-std=c++17",
                "-o", outDir.resolve(source.getFileName() + "." + arch + ".cubin").toString()));
        cmd.addAll(defines);
        cmd.add(source.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("nvcc finished").isTrue();
        assertThat(p.exitValue()).as("nvcc %s for %s %s failed:%n%s", source.getFileName(), arch, defines, out).isZero();
        return out;
    }

    /** Prints "kernel arch: N registers, S bytes spilled" lines; returns total spill bytes. */
    static long report(String label, String ptxas) {
        long spills = 0;
        String[] lines = ptxas.split("\n");
        String fn = null, arch = null;
        for (String l : lines) {
            Matcher f = FUNCTION.matcher(l);
            if (f.find()) {
                fn = f.group(1);
                arch = f.group(2);
            }
            Matcher s = SPILLS.matcher(l);
            if (s.find()) {
                spills += Long.parseLong(s.group(2)) + Long.parseLong(s.group(3));
                System.out.printf("  %s %s %s: stack %s B, spill stores %s B, spill loads %s B%n", label, fn, arch,
                        s.group(1), s.group(2), s.group(3));
            }
            Matcher r = REGS.matcher(l);
            if (r.find()) {
                System.out.printf("  %s %s %s: %s registers%n", label, fn, arch, r.group(1));
            }
        }
        return spills;
    }

    @Test
    void everyKernelSourceCompilesForAmpereAndHopper() throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, PATH, /usr/local/cuda/bin): kernel sources not compiled");
        Path dir = kernelDir();
        Path out = Files.createTempDirectory("sprnn-nvcc");
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        assertThat(sources).as("kernel sources in %s", dir).isNotEmpty();
        for (Path src : sources) {
            for (String arch : List.of("sm_80", "sm_90")) {
                for (List<String> defines : specialisations(src.getFileName().toString(), arch)) {
                    report(src.getFileName() + " " + defines, compile(nvcc, src, arch, defines, out));
                }
            }
        }
    }

    /**
     * The defines each source is checked with: none for sources with defaults; for the sparse persistent
     * kernel, which has no defaults (every shape constant comes from its KernelSpec), the specs that
     * {@link org.sprnn.plan.Plan} derives for one small layer per cell and exchange, each also in its lengths variant
     * ({@code SPRNN_LENGTHS}) (the cluster exchange
     * needs Hopper's thread-block clusters, so it is checked for sm_90 only).
     */
    static List<List<String>> specialisations(String source, String arch) {
        if (!source.equals("sparse_persistent_rnn.cu")) {
            return List.of(List.of());
        }
        List<List<String>> out = new ArrayList<>();
        var h100 = org.sprnn.plan.DeviceLimits.h100Sxm();
        for (var cell : org.sprnn.model.CellType.values()) {
            for (var exchange : org.sprnn.plan.ExchangeMode.values()) {
                if (exchange == org.sprnn.plan.ExchangeMode.CLUSTER && !arch.equals("sm_90")) {
                    continue;
                }
                var model = org.sprnn.model.SyntheticModels.random(cell, 1, 96, 1, 0.3, 1.0, 5);
                var plan = org.sprnn.plan.Plan.of(org.sprnn.sparse.CsrMatrix.of(model.layers().get(0).wHh()), cell, 4, h100,
                        org.sprnn.plan.PlanOptions.defaults().withExchange(exchange));
                out.add(plan.spec().defineOptions());
                // the same kernel taking per-sequence lengths (issue 17), as SparsePersistentEngine compiles it for a run with lengths
                List<String> lengths = plan.spec().withLengths().defineOptions();
                assertThat(lengths).containsAll(plan.spec().defineOptions()).contains("-DSPRNN_LENGTHS=1").hasSize(plan.spec().defineOptions().size() + 1);
                out.add(lengths);
                if (exchange == org.sprnn.plan.ExchangeMode.GRID_BARRIER) { // a resident session's kernel (issue 17)
                    List<String> resident = new ArrayList<>(plan.spec().defineOptions());
                    resident.add("-D" + org.sprnn.engine.cuda.SparsePersistentEngine.RESIDENT_DEFINE + "=1");
                    out.add(resident);
                    // W_ih's rows in shared memory (input size 64), and the measurement-only trace (ResidentTrace)
                    List<String> wih = new ArrayList<>(resident);
                    wih.add("-DSPRNN_RESIDENT_WIH_SMEM=64");
                    out.add(wih);
                    List<String> wihOnly = new ArrayList<>(wih); // x_t from L2
                    wihOnly.add("-DSPRNN_RESIDENT_X_SMEM=0");
                    out.add(wihOnly);
                    List<String> chunked = new ArrayList<>(wihOnly); // x_t staged in chunks of 32 float4 columns
                    chunked.add("-DSPRNN_RESIDENT_X_CHUNK=32");
                    out.add(chunked);
                    if (cell == org.sprnn.model.CellType.RNN_RELU) { // four pollers, volatile polls and a fence
                        List<String> pollers = new ArrayList<>(wih);
                        pollers.addAll(List.of("-DSPRNN_RESIDENT_POLLERS=4", "-DSPRNN_RESIDENT_POLL_ACQUIRE=0",
                                "-DSPRNN_RESIDENT_PROJ_ROWS=0")); // and each warp projecting its own rows
                        out.add(pollers);
                        List<String> copiers = new ArrayList<>(wih); // x_t copied in slices by several CTAs
                        copiers.add("-DSPRNN_RESIDENT_COPIERS=" + Math.min(8, plan.spec().ctas()));
                        out.add(copiers);
                    }
                    if (cell == org.sprnn.model.CellType.LSTM) {
                        List<String> traced = new ArrayList<>(wih);
                        traced.add("-DSPRNN_RESIDENT_TRACE=1");
                        out.add(traced);
                    }
                }
                if (cell == org.sprnn.model.CellType.RNN_RELU) { // the fault-path check's kernels (a CTA stalls)
                    List<String> stalled = new ArrayList<>(plan.spec().defineOptions());
                    stalled.addAll(List.of("-DSPRNN_STALL_CTA=0", "-DSPRNN_STALL_STEP=5"));
                    out.add(stalled);
                }
            }
        }
        if (arch.equals("sm_90")) { // the grid barrier's multicast staging (a cluster of 2), at the paper's largest layer
            var spec = org.sprnn.plan.KernelSpec.builder().cell(org.sprnn.model.CellType.RNN_RELU).hidden(5760).batch(4)
                    .weights(Precision.FP16).ctas(132).warpsPerCta(15).slotsPerLane(54).registerSlots(44)
                    .unitsPerWarp(3).wideLoads(true).bankAware(true).exchange(org.sprnn.plan.ExchangeMode.GRID_BARRIER).balanced(true)
                    .smArch(90).build();
            assertThat(spec.defineOptions()).contains("-DSPRNN_STAGE_CLUSTER=2", "-DSPRNN_STAGE_ASYNC=2");
            out.add(spec.defineOptions());
            // the engine's plan for it: clusters of 8 on 120 CTAs, full warps, rows of 18 slots compiled in
            var planned = spec.toBuilder().ctas(120).warpsPerCta(16).stageCluster(8).uniformSlots(true).rowSlots(18).build();
            assertThat(planned.defineOptions()).contains("-DSPRNN_ROW_SLOTS=18", "-DSPRNN_UNIFORM_SLOTS=1");
            out.add(planned.defineOptions());
            // gate rows with compiled row ends: GRU 1152 / 10% in one cluster (several units of three rows a warp)
            var gru = org.sprnn.model.SyntheticModels.random(org.sprnn.model.CellType.GRU, 1, 1152, 1, 0.1, 1.0, 5);
            var gruPlan = org.sprnn.plan.Plan.of(org.sprnn.sparse.CsrMatrix.of(gru.layers().get(0).wHh()), org.sprnn.model.CellType.GRU,
                    4, h100, org.sprnn.plan.PlanOptions.defaults().withExchange(org.sprnn.plan.ExchangeMode.CLUSTER));
            assertThat(gruPlan.spec().rowSlots()).as(gruPlan.describe()).isPositive();
            out.add(gruPlan.spec().defineOptions());
            // rows as magnitude pruning leaves them (unequal counts), ends compiled in after a shared tail: LSTM 256 / 20%
            // pruned over the whole matrix, grid barrier and cluster, and its lengths variant
            for (var exchange : List.of(org.sprnn.plan.ExchangeMode.GRID_BARRIER, org.sprnn.plan.ExchangeMode.CLUSTER)) {
                var pruned = magnitudePruned(org.sprnn.model.CellType.LSTM, 256, 0.2);
                var tailPlan = org.sprnn.plan.Plan.of(pruned, org.sprnn.model.CellType.LSTM, 4, h100,
                        org.sprnn.plan.PlanOptions.defaults().withExchange(exchange));
                assertThat(tailPlan.spec().tailSlots()).as(tailPlan.describe()).isPositive();
                out.add(tailPlan.spec().defineOptions());
                out.add(tailPlan.spec().withLengths().defineOptions());
                var tailSmem = org.sprnn.plan.Plan.of(pruned, org.sprnn.model.CellType.LSTM, 4, h100,
                        org.sprnn.plan.PlanOptions.defaults().withExchange(exchange).withTailSmem(true)); // the experiment's variant
                assertThat(tailSmem.spec().defineOptions()).contains("-DSPRNN_TAIL_SMEM=1");
                out.add(tailSmem.spec().defineOptions());
            }
            // warps of one row of unequal length with a tail their CTA shares (SPRNN_CTA_TAIL): relu 2304 / 30% pruned
            // over the whole matrix (timestamps, and its lengths variant), and 256 / 30% in a cluster and on the grid barrier
            var relu30 = magnitudePruned(org.sprnn.model.CellType.RNN_RELU, 2304, 0.3);
            var ctaPlan = org.sprnn.plan.Plan.of(relu30, org.sprnn.model.CellType.RNN_RELU, 4, h100,
                    org.sprnn.plan.PlanOptions.defaults().withCtaTails(true));
            assertThat(ctaPlan.spec().tailEntries()).as(ctaPlan.describe()).isPositive();
            out.add(ctaPlan.spec().defineOptions());
            out.add(ctaPlan.spec().withLengths().defineOptions());
            var small30 = magnitudePruned(org.sprnn.model.CellType.RNN_TANH, 256, 0.3);
            for (var exchange : List.of(org.sprnn.plan.ExchangeMode.GRID_BARRIER, org.sprnn.plan.ExchangeMode.CLUSTER)) {
                var p = org.sprnn.plan.Plan.of(small30, org.sprnn.model.CellType.RNN_TANH, 4, h100,
                        org.sprnn.plan.PlanOptions.defaults().withExchange(exchange).withCtaTails(true));
                assertThat(p.spec().tailEntries()).as(p.describe()).isPositive();
                out.add(p.spec().defineOptions());
            }
        }
        return out;
    }

    /** W_hh of a dense random layer (seed 5) pruned over the whole matrix to {@code density}: rows of unequal length. */
    private static org.sprnn.sparse.CsrMatrix magnitudePruned(org.sprnn.model.CellType cell, int hidden, double density) {
        var dense = org.sprnn.model.SyntheticModels.random(cell, 1, hidden, 1, 1.0, 1.0, 5);
        return org.sprnn.sparse.CsrMatrix.of(org.sprnn.prune.Pruner.prune(dense.layers().get(0).wHh(),
                new org.sprnn.prune.PruneSpec(density, org.sprnn.prune.PruneSpec.Mode.PER_MATRIX, false)));
    }

    @Test
    void cellUpdateSpecialisationsCompileWithoutSpills() throws Exception {
        Path nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, PATH, /usr/local/cuda/bin): kernel sources not compiled");
        Path src = kernelDir().resolve("rnn_cell_update.cu");
        Path out = Files.createTempDirectory("sprnn-nvcc");
        // the defines the engines use (CellUpdateSpec), one per cell and layout, fp16 and bf16 products
        for (Map<String, String> d : org.sprnn.engine.cuda.CellUpdateSpecs.samples()) {
            List<String> defs = d.entrySet().stream().map(e -> "-D" + e.getKey() + "=" + e.getValue()).toList();
            long spills = report("rnn_cell_update " + d, compile(nvcc, src, "sm_90", defs, out));
            assertThat(spills).as("spill bytes of rnn_cell_update with %s", d).isZero();
        }
    }
}
