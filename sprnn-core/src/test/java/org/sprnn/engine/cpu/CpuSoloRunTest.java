package org.sprnn.engine.cpu;

// A small run goes through the caller's thread alone (CpuRun#solo), a large one through the worker pool. Both
// paths must compute the same thing: each unit's arithmetic is the same whichever thread does it, so the outputs
// and final states agree bit for bit, and both agree with the float64 reference. Every cell, stacked, batch sizes
// with and without the vector kernels' special cases, sequences of different lengths, and an input that holds NaN.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.SprnnException;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class CpuSoloRunTest {
    @ParameterizedTest
    @EnumSource(CellType.class)
    void aSoloRunEqualsAPooledRunBitForBit(CellType cell) {
        RnnModel m = SyntheticModels.random(cell, 7, 40, 2, 0.3, 1.0, 21);
        for (int batch : new int[] {1, 3, 4, 8}) {
            Tensor x = SyntheticModels.input(5, batch, 7, 100 + batch);
            Tensor h0 = SyntheticModels.state(2, batch, 40, 200 + batch);
            Tensor c0 = cell.hasCellState() ? SyntheticModels.state(2, batch, 40, 300 + batch) : null;
            try (CpuEngine pooled = new CpuEngine(m, 2); CpuEngine solo = new CpuEngine(m, 2)) {
                pooled.soloBelow(0);
                solo.soloBelow(Long.MAX_VALUE);
                RnnOutput a = pooled.run(x, h0, c0);
                RnnOutput b = solo.run(x, h0, c0);
                assertThat(b.output().data()).as("%s batch %d output", cell, batch).containsExactly(a.output().data());
                assertThat(b.hN().data()).containsExactly(a.hN().data());
                if (c0 != null) {
                    assertThat(b.cN().data()).containsExactly(a.cN().data());
                }
                RnnOutput ref = new CpuReferenceEngine(m).run(x, h0, c0);
                for (int i = 0; i < ref.output().size(); i++) {
                    assertThat(b.output().data()[i]).isCloseTo(ref.output().data()[i], org.assertj.core.api.Assertions.within(1e-4));
                }
                if (batch == 3) {
                    SequenceLengths len = SequenceLengths.of(5, 2, 4);
                    assertThat(solo.run(x, h0, c0, len).output().data()).containsExactly(pooled.run(x, h0, c0, len).output().data());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(CellType.class)
    void oneStepAtATimeEqualsTheWholeSequenceBitForBit(CellType cell) {
        // one-step runs at batch 1 project their one column alone (CpuRun#projectOneColumn); a whole
        // sequence projects 64-column blocks with the vector kernels: the same sums, bit for bit
        RnnModel m = SyntheticModels.random(cell, 37, 48, 2, 0.2, 1.0, 8);
        for (int batch : new int[] {1, 4, 8}) {
            Tensor x = SyntheticModels.input(20, batch, 37, 9 + batch);
            try (CpuEngine e = new CpuEngine(m, 2)) {
                RnnOutput whole = e.run(x, null, null);
                try (org.sprnn.engine.Session s = e.openSession(batch, null, null)) {
                    for (int t = 0; t < 20; t++) {
                        double[] step = java.util.Arrays.copyOfRange(x.data(), t * batch * 37, (t + 1) * batch * 37);
                        Tensor y = s.step(new Tensor(new int[] {1, batch, 37}, step));
                        double[] expect = java.util.Arrays.copyOfRange(whole.output().data(), t * batch * 48, (t + 1) * batch * 48);
                        assertThat(y.data()).as("%s batch %d step %d", cell, batch, t).containsExactly(expect);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = CellType.class, names = {"GRU", "LSTM"})
    void aSoloRunFindsNaNInTheInputAndStaysUsable(CellType cell) {
        RnnModel m = SyntheticModels.random(cell, 9, 16, 1, 0.5, 1.0, 5);
        try (CpuEngine solo = new CpuEngine(m, 2)) {
            solo.soloBelow(Long.MAX_VALUE);
            Tensor x = SyntheticModels.input(3, 2, 9, 1);
            x.data()[2 * 2 * 9 - 1] = Double.NaN; // the last feature of the last column of step 1
            assertThatThrownBy(() -> solo.run(x, null, null)).isInstanceOf(SprnnException.class).hasMessageContaining("non-finite");
            Tensor ok = SyntheticModels.input(3, 2, 9, 2);
            solo.soloBelow(0);
            RnnOutput pooled = solo.run(ok, null, null); // the pooled path after a solo run that found NaN
            solo.soloBelow(Long.MAX_VALUE);
            assertThat(solo.run(ok, null, null).output().data()).containsExactly(pooled.output().data());
        }
    }
}
