package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** The CPU emulation of the kernel's 16-bit roundings that kernel-check --full runs for a failing row. */
class RoundingProbeTest {

    @Test
    void withoutRoundingItIsTheReferenceBitForBit() {
        for (CellType c : CellType.values()) {
            long seed = 40 + c.ordinal();
            RnnModel m = SyntheticModels.random(c, 7, 33, 2, 0.3, 1.0, seed);
            Tensor x = SyntheticModels.input(9, 3, 7, seed + 1);
            Tensor h0 = SyntheticModels.state(2, 3, 33, seed + 2);
            Tensor c0 = c.hasCellState() ? SyntheticModels.state(2, 3, 33, seed + 3) : null;
            RnnOutput want = new CpuReferenceEngine(m).run(x, h0, c0);
            RnnOutput got = RoundingProbe.run(m, x, h0, c0, null, false, 0, 0);
            String what = c.id() + " H=33 L=2 B=3 T=9 seed " + seed;
            assertThat(got.output().data()).as(what).isEqualTo(want.output().data());
            assertThat(got.hN().data()).as(what).isEqualTo(want.hN().data());
            if (c.hasCellState()) {
                assertThat(got.cN().data()).as(what).isEqualTo(want.cN().data());
            }
        }
    }

    @Test
    void roundingsOfAWellConditionedLayerStayNearHalfAnUlp() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 24, 64, 1, 0.3, 1.0, 5);
        Tensor x = SyntheticModels.input(64, 4, 24, 6);
        RnnOutput want = new CpuReferenceEngine(m).run(x, null, null);
        for (Precision f : List.of(Precision.FP16, Precision.BF16)) {
            double e = RelativeError.of(RoundingProbe.run(m, x, null, null, f, true, 0, 0), want);
            assertThat(e).as("tanh H=64 d=0.3 B=4 T=64 rounded %s", f).isGreaterThan(1e-6).isLessThan(f == Precision.FP16 ? 1e-3 : 1e-2);
        }
    }

    @Test
    void sixteenBitRoundingIsToNearest() {
        for (double v : new double[] {1.0, -0.5, 3.0, 1024.0}) {
            assertThat(RoundingProbe.round16(v, Precision.FP16)).isEqualTo(v);
            assertThat(RoundingProbe.round16(v, Precision.BF16)).isEqualTo(v);
        }
        double v = 1.0 + 0x1p-12; // below half an fp16 ulp of 1 (2^-11)
        assertThat(RoundingProbe.round16(v, Precision.FP16)).isEqualTo(1.0);
        assertThat(RoundingProbe.round16(1.0 + 0x1p-7 + 0x1p-9, Precision.BF16)).isEqualTo(1.0 + 0x1p-7);
        assertThat(RoundingProbe.round16(1.0 + 0x1p-7 + 0x1p-8 + 0x1p-10, Precision.BF16)).isEqualTo(1.0 + 0x1p-6);
    }

    /**
     * The one row of results/kernel/full-matrix that failed (tanh H=64 d=1% B=16 T=256, seed 11: 5.17e-3 on the H100)
     * is a draw that amplifies rounding: the deterministic emulation of the kernel's fp16 roundings alone gives 5.17e-3
     * as well, and rounding-size perturbations spread it from about 8e-4 to 9e-3.
     */
    @Test
    void theFailedMatrixRowIsWithinTheSpreadOfItsRoundings() {
        FullCheckJobs.ModelKey key = FullCheckJobs.jobs(11).stream()
                .filter(j -> j.section().equals("matrix") && j.model().cell() == CellType.RNN_TANH && j.model().hidden() == 64
                        && j.model().density() == 0.01).findFirst().orElseThrow().model();
        RnnModel m = SyntheticModels.random(key.cell(), FullCheckJobs.INPUT, 64, 1, 0.01, 1.0, key.seed());
        long s = key.seed() * 31 + 16 * 1009L + 256;
        Tensor x = SyntheticModels.input(256, 16, FullCheckJobs.INPUT, s + 1);
        Tensor h0 = SyntheticModels.state(1, 16, 64, s + 2);
        RnnOutput want = new CpuReferenceEngine(m).run(x, h0, null);
        String why = RoundingProbe.explain(m, x, h0, null, want, Precision.FP16, 5.17e-3, 8);
        System.out.println("tanh H=64 d=0.01 B=16 T=256 seed 11: " + why);
        assertThat(why).contains("within that spread");
        double exact = RelativeError.of(RoundingProbe.run(m, x, h0, null, Precision.FP16, true, 0, 0), want);
        assertThat(exact).as("deterministic fp16 emulation of the failed row").isBetween(4.6e-3, 5.7e-3);
        RoundingProbe.Explanation e = RoundingProbe.probe(m, x, h0, null, want, org.sprnn.plan.PlanOptions.defaults(), 8);
        double tol = Precision.FP16.tolerance();
        assertThat(e.amplified(5.17e-3, tol)).as("the H100's 5.17e-3 against %s", e).isTrue();
        assertThat(e.amplified(e.hi() * 1.01, tol)).as("an error above the spread is the kernel's").isFalse();
        assertThat(e.amplified(Double.POSITIVE_INFINITY, tol)).isFalse();
        assertThat(e.amplified(Double.NaN, tol)).isFalse();
        // a chaotic draw's spread is capped: an error far above the deterministic emulation's is the kernel's
        RoundingProbe.Explanation chaotic = new RoundingProbe.Explanation(5e-3, 1e-3, 1.0, 8);
        assertThat(chaotic.amplified(1.9e-2, tol)).isTrue();
        assertThat(chaotic.amplified(2.1e-2, tol)).isFalse();
        assertThat(new RoundingProbe.Explanation(5e-3, 1e-3, Double.POSITIVE_INFINITY, 8).amplified(6e-3, tol)).isFalse();
    }

    /** Split weights carry about 2^-22 of error, so the probe perturbs them by that, not by an fp16 ulp: a narrower spread. */
    @Test
    void splitWeightsAreJitteredAtTheirOwnSize() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 24, 64, 1, 0.3, 1.0, 5);
        Tensor x = SyntheticModels.input(64, 4, 24, 6);
        RnnOutput want = new CpuReferenceEngine(m).run(x, null, null);
        org.sprnn.plan.PlanOptions one = org.sprnn.plan.PlanOptions.defaults().withSplitWeights(false);
        org.sprnn.plan.PlanOptions split = org.sprnn.plan.PlanOptions.defaults().withSplitWeights(true);
        RoundingProbe.Explanation a = RoundingProbe.probe(m, x, null, null, want, one, 4);
        RoundingProbe.Explanation b = RoundingProbe.probe(m, x, null, null, want, split, 4);
        assertThat(b.exact()).as("split %s, one word %s", b, a).isLessThan(a.exact());
        assertThat(b.hi()).as("split %s, one word %s", b, a).isLessThan(a.hi());
    }

    /** A well-conditioned draw's emulation meets the bound, so any error above it is the kernel's, however small. */
    @Test
    void aDrawWhoseEmulationMeetsTheBoundAmplifiesNothing() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 24, 64, 1, 0.3, 1.0, 5);
        Tensor x = SyntheticModels.input(64, 4, 24, 6);
        RnnOutput want = new CpuReferenceEngine(m).run(x, null, null);
        RoundingProbe.Explanation e = RoundingProbe.probe(m, x, null, null, want, org.sprnn.plan.PlanOptions.defaults(), 4);
        double tol = Precision.FP16.tolerance();
        assertThat(e.exact()).isLessThan(tol);
        assertThat(e.lo()).isLessThanOrEqualTo(e.hi());
        assertThat(e.amplified(tol * 1.5, tol)).as("%s", e).isFalse();
        assertThat(e.amplified(e.hi(), tol)).as("%s", e).isFalse();
    }

    /** Split weights (hi + lo, {@link Precision#encodeResidual}) leave W_hh within 2^-22: the probe without h rounding is near exact. */
    @Test
    void splitWeightsRemoveTheWeightRounding() {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 24, 64, 1, 0.3, 1.0, 5);
        Tensor x = SyntheticModels.input(64, 4, 24, 6);
        RnnOutput want = new CpuReferenceEngine(m).run(x, null, null);
        double plain = RelativeError.of(RoundingProbe.run(m, x, null, null, Precision.FP16, false, 0, 0), want);
        double split = RelativeError.of(RoundingProbe.runRounded(m, x, null, null,
                v -> RoundingProbe.splitRound16(v, Precision.FP16), false, 0, 0), want);
        assertThat(plain).as("tanh H=64 d=0.3 B=4 T=64, W_hh fp16").isGreaterThan(1e-5);
        assertThat(split).as("tanh H=64 d=0.3 B=4 T=64, W_hh split (fp16 %.2e)", plain).isLessThan(plain / 100).isLessThan(1e-6);
    }

    /**
     * The one row of results/suite/full that failed (relu H=64 d=1% B=3 T=256, seed 52499: 3.51e-3 on the H100): the
     * emulation of the kernel's roundings gives 3.51e-3, W_hh rounding alone 7.5e-4, h rounding alone 1.39e-3; with
     * split weights (and h still fp16) 1.39e-3, under the 3e-3 bar. (The seed-11 tanh row above is driven by h
     * rounding: split weights leave it at 5.7e-3; see results/fp16.)
     */
    @Test
    void splitWeightsBringTheSeed52499RowUnderTheBar() {
        long modelSeed = RoundingSourcesSurvey.checkModelSeed(CellType.RNN_RELU, 64, 0.01, 52499);
        RoundingSourcesSurvey.Draw d = RoundingSourcesSurvey.draw(CellType.RNN_RELU, 64, 0.01, 3, 256, modelSeed);
        double[] e = d.errors();
        String what = String.format("relu H=64 d=0.01 B=3 T=256 seed 52499: W %.2e, h %.2e, both %.2e, split W + h %.2e", e[0], e[1], e[2], e[3]);
        assertThat(d.damping()).as(what).isEqualTo(1.0);
        assertThat(e[2]).as(what + ": the kernel's roundings").isBetween(3.4e-3, 3.6e-3);
        assertThat(e[3]).as(what + ": split weights").isLessThan(Precision.FP16.tolerance()).isEqualTo(e[1], org.assertj.core.api.Assertions.within(e[1] * 0.02));
    }
}
