package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;

/** What {@code kernel-check --full} covers (no GPU needed to enumerate it), and the kernels of its fault path. */
class SparsePersistentFullCheckTest {

    @Test
    void theMatrixIsEveryCellHiddenBatchDensityAndLength() {
        List<FullCheckJobs.Job> jobs = FullCheckJobs.jobs(1);
        Set<String> cells = new HashSet<>();
        long shapes = jobs.stream().filter(j -> j.section().equals("matrix")).peek(j -> {
            assertThat(j.options()).isEqualTo(PlanOptions.defaults());
            cells.add(j.model().cell().id() + "/" + j.model().hidden() + "/" + j.model().density());
        }).mapToLong(j -> j.shapes().size()).sum();
        assertThat(cells).hasSize(4 * 5 * 4);
        assertThat(shapes).isEqualTo(4L * 5 * 5 * 4 * 3);
    }

    @Test
    void aPlacementAskedForReplacesTheDefaultOnlyWhereAJobLeavesIt() {
        org.sprnn.sparse.WarpPlacement dflt = PlanOptions.defaults().placement();
        List<FullCheckJobs.Job> base = FullCheckJobs.jobs(1);
        for (org.sprnn.sparse.WarpPlacement other : org.sprnn.sparse.WarpPlacement.values()) {
            if (other == dflt) {
                continue;
            }
            List<FullCheckJobs.Job> asked = FullCheckJobs.jobs(1, other);
            assertThat(asked).hasSameSizeAs(base);
            for (int i = 0; i < base.size(); i++) {
                var d = base.get(i).options();
                var c = asked.get(i).options();
                assertThat(c.placement()).as(base.get(i).label(base.get(i).shapes().get(0)))
                        .isEqualTo(d.placement() == dflt ? other : d.placement());
                assertThat(c.withPlacement(d.placement())).isEqualTo(d);
                assertThat(asked.get(i).shapes()).isEqualTo(base.get(i).shapes());
            }
            // the matrix itself checks every placement but the default on jobs of its own
            assertThat(base.stream().filter(j -> j.options().placement() == other)).isNotEmpty();
        }
        assertThat(FullCheckJobs.jobs(1, dflt)).isEqualTo(base);
    }

    @Test
    void theAblationIsEverySwitchCombinationForEveryCellSharingOneShape() {
        List<FullCheckJobs.Job> abl = FullCheckJobs.jobs(1).stream().filter(j -> j.section().equals("ablation")).toList();
        Map<FullCheckJobs.Shape, List<FullCheckJobs.Job>> byShape = abl.stream()
                .collect(Collectors.groupingBy(j -> j.shapes().get(0)));
        assertThat(byShape.keySet().stream().map(s -> s.model().cell()).collect(Collectors.toSet())).containsExactlyInAnyOrder(CellType.values());
        for (var e : byShape.entrySet()) {
            Set<String> combos = e.getValue().stream().map(j -> j.options().exchange() + "/" + j.options().wideLoads() + "/"
                    + j.options().bankAware() + "/" + j.options().balanced()).collect(Collectors.toSet());
            assertThat(combos).as("switch combinations at %s", e.getKey()).hasSize(3 * 2 * 2 * 2);
            assertThat(e.getValue()).as("one model per shape").allMatch(j -> j.model().equals(e.getKey().model()));
        }
    }

    @Test
    void otherSectionsCoverStackingBf16AndSequencesLongerThanOneLaunch() {
        List<FullCheckJobs.Job> jobs = FullCheckJobs.jobs(1);
        assertThat(jobs.stream().filter(j -> j.section().equals("stacked")).map(j -> j.model().layers()))
                .contains(2, 3);
        assertThat(jobs.stream().filter(j -> j.section().equals("bf16")))
                .isNotEmpty().allMatch(j -> j.options().weights() == Precision.BF16);
        assertThat(jobs.stream().filter(j -> j.section().equals("chunks")).flatMap(j -> j.shapes().stream()
                .filter(s -> s.steps() > j.variant().stepsPerLaunch()).map(s -> j.options().exchange())).collect(Collectors.toSet()))
                .as("exchanges run with T longer than one launch").contains(ExchangeMode.values()).contains((ExchangeMode) null);
    }

    @Test
    void theRunTimeRowEndJobsOfTheClusterExchangeAreTheCompiledKernelsCounterparts() {
        List<FullCheckJobs.Job> jobs = FullCheckJobs.jobs(1).stream()
                .filter(j -> j.section().equals("run-time row ends")).toList();
        assertThat(jobs).hasSize(4 * 3).allMatch(j -> !j.options().compiledRowEnds());
        Set<CellType> counterparts = new HashSet<>();
        for (FullCheckJobs.Job j : jobs) {
            if (j.options().exchange() != ExchangeMode.CLUSTER) {
                continue;
            }
            var k = j.model();
            var model = SyntheticModels.random(k.cell(), FullCheckJobs.INPUT, k.hidden(), k.layers(), k.density(), 1.0, k.seed());
            CsrMatrix rows = CsrMatrix.of(model.layers().get(0).wHh());
            for (var shape : j.shapes()) {
                Plan general = Plan.of(rows, k.cell(), shape.batch(), DeviceLimits.h100Sxm(), j.options());
                Plan compiled = Plan.of(rows, k.cell(), shape.batch(), DeviceLimits.h100Sxm(), j.options().withCompiledRowEnds(true));
                assertThat(general.spec().rowSlots()).as(general.describe()).isZero();
                assertThat(compiled.spec().rowSlots()).as(compiled.describe()).isPositive();
                assertThat(compiled.layout().words()).isEqualTo(general.layout().words());
            }
            counterparts.add(k.cell());
        }
        assertThat(counterparts).containsExactlyInAnyOrder(CellType.values());
    }

    @Test
    void onlyTheStalledVariantCarriesTheStallDefines() {
        var model = SyntheticModels.random(CellType.GRU, 8, 96, 1, 0.3, 1.0, 3);
        Plan p = Plan.of(CsrMatrix.of(model.layers().get(0).wHh()), CellType.GRU, 3, DeviceLimits.h100Sxm(), PlanOptions.defaults());
        EngineTesting.KernelBuild normal = EngineTesting.sparsePersistentKernel(p.spec(), SparsePersistentEngine.Variant.NORMAL);
        assertThat(normal.defines()).isEqualTo(p.spec().defines());
        assertThat(normal.name()).isEqualTo(p.spec().name());
        var stalled = new SparsePersistentEngine.Variant(false, 0, 5, 50_000_000L, 256);
        assertThat(stalled).isEqualTo(SparsePersistentEngine.Variant.NORMAL.withStall(0, 5, 50_000_000L));
        EngineTesting.KernelBuild k = EngineTesting.sparsePersistentKernel(p.spec(), stalled);
        assertThat(k.defines()).containsEntry("SPRNN_STALL_CTA", "0")
                .containsEntry("SPRNN_STALL_STEP", "5");
        assertThat(k.name()).isNotEqualTo(p.spec().name()).startsWith(p.spec().name());
    }
}
