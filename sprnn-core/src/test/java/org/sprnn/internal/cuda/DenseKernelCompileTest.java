package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;

/**
 * The dense mode ({@code SPRNN_DENSE=1}) of {@code sparse_persistent_rnn.cu} through {@code nvcc} for sm_90, no GPU
 * needed: the specs the planner makes for an H100 (every cell and exchange on a small layer; every cell at batch 1, 4
 * and 16 at its capacity, the largest hidden size on-chip, which is where the register tier is fullest; bf16; each
 * exchange's own capacity), each compiled without a spill store, so the register model of
 * {@code KernelSpec#denseRegisterSlotsFor} holds for the kernels the engine would build. Skipped where nvcc is absent.
 */
class DenseKernelCompileTest {
    private static final Pattern SPILL_STORES = Pattern.compile("(\\d+) bytes spill stores");
    private static final DeviceLimits H100 = DeviceLimits.h100Sxm();

    static Map<String, KernelSpec> plannedSpecs() {
        Map<String, KernelSpec> specs = new LinkedHashMap<>();
        PlanOptions fp16 = PlanOptions.denseDefaults(Precision.FP16);
        for (CellType cell : CellType.values()) {
            var model = SyntheticModels.random(cell, 1, 96, 1, 1.0, 1.0, 5);
            for (ExchangeMode e : ExchangeMode.values()) {
                Plan p = Plan.of(CsrMatrix.of(model.layers().get(0).wHh()), cell, 4, H100, fp16.withExchange(e));
                assertThat(p.fits()).as(p.why()).isTrue();
                specs.put(cell.id() + " h96 b4 " + e.id(), p.spec());
            }
            for (int batch : cell == CellType.RNN_TANH ? new int[] {4} : new int[] {1, 4, 16}) {
                Plan.DenseCapacity c = Plan.denseCapacity(cell, batch, H100, fp16);
                specs.put(cell.id() + " capacity h" + c.hidden() + " b" + batch, c.plan().spec());
            }
        }
        for (CellType cell : new CellType[] {CellType.RNN_RELU, CellType.LSTM}) {
            Plan.DenseCapacity c = Plan.denseCapacity(cell, 4, H100, PlanOptions.denseDefaults(Precision.BF16));
            specs.put(cell.id() + " bf16 capacity h" + c.hidden() + " b4", c.plan().spec());
            for (ExchangeMode e : new ExchangeMode[] {ExchangeMode.TIMESTAMPS, ExchangeMode.CLUSTER}) {
                Plan.DenseCapacity ce = Plan.denseCapacity(cell, 4, H100, fp16.withExchange(e));
                specs.put(cell.id() + " " + e.id() + " capacity h" + ce.hidden() + " b4", ce.plan().spec());
            }
        }
        Plan.DenseCapacity barrier = Plan.denseCapacity(CellType.RNN_RELU, 16, H100, fp16.withExchange(ExchangeMode.GRID_BARRIER));
        specs.put("rnn_relu barrier capacity h" + barrier.hidden() + " b16", barrier.plan().spec());
        Plan.DenseCapacity b32 = Plan.denseCapacity(CellType.GRU, 32, H100, fp16);
        specs.put("gru capacity h" + b32.hidden() + " b32", b32.plan().spec());
        return specs;
    }

    @Test
    void everyPlannedDenseSpecCompilesWithoutSpills() throws Exception {
        Path nvcc = KernelSourcesCompileTest.nvcc();
        assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, PATH, /usr/local/cuda/bin): dense kernels not compiled");
        Path src = KernelSourcesCompileTest.kernelDir().resolve("sparse_persistent_rnn.cu");
        Path out = Files.createTempDirectory("sprnn-nvcc-dense");
        Map<String, KernelSpec> specs = plannedSpecs();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            Map<String, Future<String>> reports = new LinkedHashMap<>();
            int i = 0;
            for (var e : specs.entrySet()) {
                Path dir = Files.createDirectories(out.resolve("s" + i++));
                assertThat(e.getValue().defines()).containsEntry("SPRNN_DENSE", "1");
                reports.put(e.getKey(), pool.submit(() -> KernelSourcesCompileTest.compile(nvcc, src, "sm_90", e.getValue().defineOptions(), dir)));
            }
            List<String> spilled = new ArrayList<>();
            for (var e : reports.entrySet()) {
                String ptxas = e.getValue().get();
                KernelSourcesCompileTest.report("dense " + e.getKey() + " " + specs.get(e.getKey()).name(), ptxas);
                Matcher m = SPILL_STORES.matcher(ptxas);
                while (m.find()) {
                    if (Long.parseLong(m.group(1)) > 0) {
                        spilled.add(e.getKey() + " (" + specs.get(e.getKey()).name() + "): " + m.group() );
                    }
                }
            }
            assertThat(spilled).as("dense specs that spill").isEmpty();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theSpecsCoverEveryCellExchangeAndTier() {
        Map<String, KernelSpec> specs = plannedSpecs();
        specs.forEach((k, v) -> System.out.println(k + ": " + v.name()));
        assertThat(specs.values().stream().map(KernelSpec::cell).distinct()).hasSize(4);
        assertThat(specs.values().stream().map(KernelSpec::exchange).distinct()).hasSize(3);
        assertThat(specs.values()).anyMatch(s -> s.sharedSlots() > 0).anyMatch(s -> s.rowSlots() > 0)
                .anyMatch(s -> s.rowSlots() == 0).anyMatch(s -> s.weights() == Precision.BF16).anyMatch(s -> s.stageCluster() > 1);
    }
}
