package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.PlanOptions;

/**
 * The lengths part of {@code sprnn kernel-check} (issue 17) without a GPU: what it covers, that every case is planned
 * on an H100 (so the GPU session meets no refusal), and that its reference and its zero check can fail.
 */
class LengthsCasesTest {

    private static List<SparsePersistentSelfTest.Case> lengthsCases() {
        List<SparsePersistentSelfTest.Case> all = new ArrayList<>(SparsePersistentSelfTest.cases(false));
        all.addAll(SparsePersistentSelfTest.denseCases(false));
        return all.stream().filter(c -> !c.lengths().isEmpty()).toList();
    }

    @Test
    void coverEveryCellExchangeAndEngineStackedAndASecondLaunch() {
        List<SparsePersistentSelfTest.Case> cs = lengthsCases();
        for (boolean dense : new boolean[] {false, true}) {
            List<SparsePersistentSelfTest.Case> mine = cs.stream().filter(c -> c.options().dense() == dense).toList();
            EnumSet<CellType> cells = EnumSet.noneOf(CellType.class);
            EnumSet<ExchangeMode> exchanges = EnumSet.noneOf(ExchangeMode.class);
            mine.forEach(c -> {
                cells.add(c.cell());
                if (c.options().exchange() != null) {
                    exchanges.add(c.options().exchange());
                }
            });
            assertThat(cells).as("dense " + dense).containsExactlyInAnyOrder(CellType.values());
            assertThat(exchanges).as("dense " + dense).containsExactlyInAnyOrder(ExchangeMode.values());
            assertThat(mine).as("stacked").anyMatch(c -> c.layers() > 1);
            // a sequence ending inside the second launch, and one ending exactly at the first launch's end
            assertThat(mine).anyMatch(c -> c.steps() > SparsePersistentEngine.STEPS_PER_LAUNCH && c.lengths().stream()
                    .anyMatch(l -> l > SparsePersistentEngine.STEPS_PER_LAUNCH && l < c.steps())
                    && c.lengths().contains(SparsePersistentEngine.STEPS_PER_LAUNCH));
            assertThat(mine).as("a padded batch column").anyMatch(c -> c.batch() == 3);
        }
        assertThat(SparsePersistentSelfTest.lengthsCases(true, PlanOptions.defaults())).isNotEmpty();
    }

    @Test
    void everyCaseIsPlannedOnAnH100() {
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        for (SparsePersistentSelfTest.Case c : lengthsCases()) {
            RnnModel model = org.sprnn.model.SyntheticModels.random(c.cell(), 24, c.hidden(), c.layers(), c.density(), 1.0, 1);
            assertThat(SparsePersistentEngine.refusal(model, c.batch(), h100, c.options())).as(c.toString()).isNull();
        }
    }

    @Test
    void theReferencePoisonsThePaddingAndTheZeroCheckFindsAnOutputPastAnEnd() {
        SparsePersistentSelfTest.Case c = new SparsePersistentSelfTest.Case(CellType.LSTM, 40, 2, 0.3, 3, 9,
                PlanOptions.defaults()).withLengths(9, 2, 5);
        Object[] ref = SparsePersistentSelfTest.reference(c, 7);
        Tensor x = (Tensor) ref[0];
        assertThat(x.data()[(3 * 3 + 1) * 24]).as("step 3 of sequence 1 (length 2) is padding").isNaN();
        assertThat(x.data()[(1 * 3 + 1) * 24]).isNotNaN();
        RnnOutput want = (RnnOutput) ref[3];
        SequenceLengths len = c.sequenceLengths();
        assertThat(SparsePersistentSelfTest.nonZeroPastEnd(want.output(), len)).isNull();
        want.output().data()[(6 * 3 + 2) * 40 + 7] = 1e-30;
        assertThat(SparsePersistentSelfTest.nonZeroPastEnd(want.output(), len))
                .isEqualTo("output [6][2][7] is 1.0E-30 after sequence 2's end (length 5); expected 0");
        assertThat(c.toString()).endsWith(" lengths 9,2,5");
    }

    @Test
    void theLengthsVariantIsTheSameKernelWithOneMoreDefineAndItsOwnName() {
        KernelSpec s = KernelSpec.builder().cell(CellType.GRU).hidden(300).batch(3).weights(Precision.FP16).ctas(16).warpsPerCta(4)
                .slotsPerLane(8).registerSlots(8).unitsPerWarp(5).wideLoads(true).exchange(ExchangeMode.CLUSTER).smArch(90).build();
        KernelSpec l = s.withLengths();
        assertThat(s.lengths()).isFalse();
        assertThat(s.defines()).doesNotContainKey("SPRNN_LENGTHS");
        assertThat(l.defines()).containsEntry("SPRNN_LENGTHS", "1").hasSize(s.defines().size() + 1);
        assertThat(l.name()).isEqualTo(s.name() + "_len");
        assertThat(l.sharedMemoryBytes()).isEqualTo(s.sharedMemoryBytes());
        assertThat(l.toBuilder().lengths(false).build()).isEqualTo(s);
    }
}
