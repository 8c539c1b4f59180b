package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** The selftest's sensitivity probes, on the CPU (no GPU needed). */
class GpuSelfTestReferenceTest {

    @Test
    void steppingWithFp32RoundingReproducesTheReference() {
        for (CellType cell : CellType.values()) {
            RnnModel m = SyntheticModels.random(cell, 7, 12, 1, 0.5, 1.0, 11);
            Tensor x = SyntheticModels.input(9, 3, 7, 12);
            Tensor h0 = SyntheticModels.state(1, 3, 12, 13);
            Tensor c0 = cell.hasCellState() ? SyntheticModels.state(1, 3, 12, 14) : null;
            RnnOutput ref = new CpuReferenceEngine(m).run(x, h0, c0);
            RnnOutput stepped = SelfTestReference.roundingHEachStep(m, x, h0, c0, Precision.FP32);
            assertThat(RelativeError.of(stepped, ref)).as("%s stepped with fp32 h vs reference", cell).isLessThan(1e-6);
        }
    }

    @Test
    void theFp16CaseThatFailedOnTheH100IsClassifiedIllConditioned() {
        // seed 4 of `sprnn selftest`: rnn_tanh, hidden 33, 1 layer, batch 4, density 0.01, T 50 gave 3.62e-3 on both
        // GPU engines (fp16); a float64 emulation of fp16 rounding gives the same order, so the model is the cause
        SelfTestReference.ModelCase m = new SelfTestReference.ModelCase(CellType.RNN_TANH, 33, 0.01, 1, true);
        Object[] r = SelfTestReference.reference(m, new SelfTestReference.Shape(4, 50), 4, List.of(Precision.FP16));
        double sensitivity = (Double) ((Map<?, ?>) r[4]).get(Precision.FP16);
        System.out.printf("rnn_tanh h33 d0.01 b4 T50 seed 4: fp16 sensitivity %.2e%n", sensitivity);
        assertThat(sensitivity).isGreaterThan(GpuSelfTest.ILL_CONDITIONED);
        assertThat(GpuSelfTest.RAISE * sensitivity).isGreaterThan(3.62e-3);
    }

    @Test
    void aWellConditionedModelKeepsTheBaseTolerance() {
        SelfTestReference.ModelCase m = new SelfTestReference.ModelCase(CellType.GRU, 256, 0.3, 1, true);
        Object[] r = SelfTestReference.reference(m, new SelfTestReference.Shape(4, 50), 4, List.of(Precision.FP16));
        assertThat((Double) ((Map<?, ?>) r[4]).get(Precision.FP16)).isLessThan(GpuSelfTest.ILL_CONDITIONED);
    }

    @Test
    void anExplodingReluDrawIsDampedIntoFp16sRange() {
        // seed 51830 of `sprnn selftest` on the H100: a drawn ReLU layer's float64 h left fp16's range, and rounding h to
        // fp16 for the sensitivity probe gave Infinity (the selftest stopped); every ReLU case of that seed now stays in range
        int damped = 0;
        for (int hidden : new int[] {33, 256}) {
            for (double d : new double[] {0.01, 0.3, 1.0}) {
                for (SelfTestReference.Shape s : List.of(new SelfTestReference.Shape(1, 50), new SelfTestReference.Shape(4, 50), new SelfTestReference.Shape(8, 50))) {
                    SelfTestReference.ModelCase m = new SelfTestReference.ModelCase(CellType.RNN_RELU, hidden, d, 1, true);
                    Object[] r = SelfTestReference.reference(m, s, 51830, List.of(Precision.FP16, Precision.FP32));
                    double peak = Fp16Range.peak((RnnOutput) r[3]);
                    assertThat(peak).as("%s %s: max |h| of the checked reference", m, s).isLessThanOrEqualTo(Fp16Range.FP16_MAX);
                    assertThat((Double) ((Map<?, ?>) r[4]).get(Precision.FP16)).as("%s %s: fp16 sensitivity", m, s).isFinite();
                    if ((Double) r[5] < 1) {
                        damped++;
                    }
                }
            }
        }
        assertThat(damped).as("cases of seed 51830 whose W_hh had to be damped").isPositive();
    }
}
