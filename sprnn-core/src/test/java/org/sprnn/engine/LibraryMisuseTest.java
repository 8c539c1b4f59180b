package org.sprnn.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * The Java API used wrongly, as a newcomer's walk through it did (session 23): each misuse is one SprnnException
 * naming what and where, and leaves the engine usable; none is an Error, a raw index exception or a hang.
 */
class LibraryMisuseTest {
    private static final RnnModel RELU = SyntheticModels.random(CellType.RNN_RELU, 16, 16, 1, 0.5, 1.0, 7);

    @TempDir
    Path dir;

    @Test
    void aShapeWhoseProductWrapsAroundIsRefusedAndTheEngineStillRuns() {
        // 2^30 x 2^30 x 16 = 2^64: wrapped to 0 in a long, it matched an empty array
        assertThatThrownBy(() -> new Tensor(new int[] {1 << 30, 1 << 30, 16}, new double[0]))
                .isInstanceOf(SprnnException.class).hasMessageContaining("more values than any array");
        assertThatThrownBy(() -> new FloatTensor(new int[] {1 << 30, 1 << 30, 16}, new float[0]))
                .isInstanceOf(SprnnException.class).hasMessageContaining("more values than any array");
        try (Engine cpu = EngineProvider.factory("cpu").create(RELU, EngineOptions.builder().build())) {
            Tensor x = SyntheticModels.input(5, 2, 16, 1);
            Tensor before = cpu.run(x, null, null).output();
            assertThatThrownBy(() -> cpu.run(new Tensor(new int[] {0, 3, 16}, new double[0]), null, null))
                    .isInstanceOf(SprnnException.class);
            assertThat(cpu.run(x, null, null).output().data()).isEqualTo(before.data());
        }
    }

    @Test
    @Timeout(10)
    void transposingAnEmptyTensorOfHugeExtentsTakesNoTime() {
        Tensor empty = new Tensor(new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, 0}, new double[0]);
        assertThat(empty.transpose01().shape()).containsExactly(Integer.MAX_VALUE, Integer.MAX_VALUE, 0);
        FloatTensor emptyF = new FloatTensor(new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, 0}, new float[0]);
        assertThat(emptyF.transpose01().size()).isZero();
    }

    @Test
    @Timeout(10)
    void aBatchFirstSessionNamesTheCallersLayout() {
        try (Engine cpu = EngineProvider.factory("cpu").create(RELU, EngineOptions.builder().build());
             Engine bf = new BatchFirstEngine(RELU, cpu);
             Session s = bf.openSession(3, null, null)) {
            double[] v = new double[3 * 2 * 16];
            v[(2 * 2 + 0) * 16 + 5] = Double.NaN; // [b=2][t=0][i=5]
            assertThatThrownBy(() -> s.step(new Tensor(new int[] {3, 2, 16}, v)))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("[2][0][5]");
            assertThatThrownBy(() -> s.step(Tensor.zeros(3, 2, 9)))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("[3, 2, 9]").hasMessageContaining("[3, steps >= 1, 16]");
            // refused before any transposition of its 3 x 2^31 empty rows
            assertThatThrownBy(() -> s.step(new Tensor(new int[] {3, Integer.MAX_VALUE, 0}, new double[0])))
                    .isInstanceOf(SprnnException.class);
            assertThat(s.step(Tensor.zeros(3, 2, 16)).shape()).containsExactly(3, 2, 16);
        }
    }

    @Test
    void valuesASixteenBitFileCannotHoldAreRefusedAndNoFileIsLeft() {
        Tensor wHh = RELU.layers().get(0).wHh().copy();
        wHh.data()[0] = 1e6; // beyond fp16's 65504
        Layer l = RELU.layers().get(0);
        RnnModel big = new RnnModel(CellType.RNN_RELU, java.util.List.of(new Layer(l.wIh(), wHh, l.bIh(), l.bHh())));
        Path st = dir.resolve("big16.safetensors");
        assertThatThrownBy(() -> ModelFiles.save(big, st, Precision.FP16)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("'weight_hh_l0'").hasMessageContaining("[0][0]").hasMessageContaining("F16");
        assertThat(st).doesNotExist();
        Path npz = dir.resolve("big16.npz");
        assertThatThrownBy(() -> ModelFiles.save(big, npz, Precision.FP16)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("weight_hh_l0").hasMessageContaining("[0][0]");
        assertThat(npz).doesNotExist();
        ModelFiles.save(big, st, Precision.FP32); // float32 holds it
        assertThat(ModelFiles.load(st, null).layers().get(0).wHh().data()[0]).isEqualTo(1e6);
        Path x = dir.resolve("x.npy");
        assertThatThrownBy(() -> Npy.write(x, new Tensor(new int[] {2}, new double[] {1, 1e300})))
                .isInstanceOf(SprnnException.class).hasMessageContaining("[1]").hasMessageContaining("1.0E300");
        assertThat(x).doesNotExist();
    }

    @Test
    void aClosedReferenceEngineRefusesAsEveryEngineDoes() {
        CpuReferenceEngine ref = new CpuReferenceEngine(RELU);
        ref.close();
        Tensor x = SyntheticModels.input(3, 1, 16, 2);
        assertThatThrownBy(() -> ref.run(x, null, null)).isInstanceOf(SprnnException.class).hasMessageContaining("after close()");
        assertThatThrownBy(() -> ref.openSession(1, null, null)).isInstanceOf(SprnnException.class).hasMessageContaining("after close()");
    }

    @Test
    void aSessionCopiesTheStatesItIsGivenAndHandsOut() {
        try (Engine cpu = EngineProvider.factory("cpu").create(RELU, EngineOptions.builder().build())) {
            Tensor x = SyntheticModels.input(4, 2, 16, 3);
            Tensor h0 = SyntheticModels.state(1, 2, 16, 4);
            Tensor want = cpu.run(x, h0, null).output();
            try (Session s = cpu.openSession(2, h0, null)) {
                Arrays.fill(h0.data(), Double.NaN); // the caller reuses its array
                s.state().hN().data()[0] = 1e3;     // or writes to what state() handed out
                assertThat(s.step(x).data()).isEqualTo(want.data());
            }
            try (Session s = cpu.openSession(2, null, null)) {
                assertThat(s.state().hN().shape()).containsExactly(1, 2, 16); // zeros before any step, as documented
                assertThat(s.state().hN().countNonZero()).isZero();
            }
        }
    }

    @Test
    void nullArgumentsTheApiNamesAreRefusedAsSprnnExceptions() {
        assertThatThrownBy(() -> EngineOptions.builder().precision(null).build())
                .isInstanceOf(SprnnException.class).hasMessageContaining("--precision");
        Layer l = RELU.layers().get(0);
        assertThatThrownBy(() -> new RnnModel(CellType.LSTM, java.util.List.of(new Layer(null, l.wHh(), l.bIh(), l.bHh()))))
                .isInstanceOf(SprnnException.class).hasMessageContaining("missing tensor weight_ih_l0");
        assertThatThrownBy(() -> new RnnModel(CellType.RNN_RELU, java.util.List.of(new Layer(l.wIh(), null, l.bIh(), l.bHh()))))
                .isInstanceOf(SprnnException.class).hasMessageContaining("missing tensor weight_hh_l0");
        assertThatThrownBy(() -> new RnnModel(CellType.RNN_RELU, null)).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> new RnnModel(CellType.RNN_RELU, Arrays.asList((Layer) null)))
                .isInstanceOf(SprnnException.class).hasMessageContaining("layer 0");
    }

    @Test
    void anArrayTheHeapCannotHoldIsARefusalNotAnError() {
        long heap = Runtime.getRuntime().maxMemory();
        org.junit.jupiter.api.Assumptions.assumeTrue(heap < 8L * (Integer.MAX_VALUE - 16), "a heap that holds 16 GiB");
        assertThatThrownBy(() -> Tensor.zeros(Integer.MAX_VALUE - 16)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("Java heap").hasMessageContaining("-Xmx");
    }
}
