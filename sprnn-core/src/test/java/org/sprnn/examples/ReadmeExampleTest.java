package org.sprnn.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.Session;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** The README's Java example, kept compiling and correct: the lines between the markers are the README's. */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void readmeExampleRunsAndMatchesTheReference() {
        RnnModel saved = SyntheticModels.random(CellType.LSTM, 8, 16, 2, 0.2, 1.0, 11);
        ModelFiles.save(saved, dir.resolve("lstm.safetensors"), Precision.FP32);
        Npy.write(dir.resolve("x.npy"), SyntheticModels.input(6, 3, 8, 12));
        Path folder = dir;

        // --- README example begins
        RnnModel model = ModelFiles.load(folder.resolve("lstm.safetensors"), null);   // cell from the file's metadata
        Tensor x = Npy.read(folder.resolve("x.npy"));                                 // [T][B][I]
        EngineOptions options = EngineOptions.builder().engine("auto").batchHint(x.dim(1)).build();
        try (EngineSelection chosen = EngineProvider.select(model, options)) {
            RnnOutput out = chosen.engine().run(x, null, null);                        // zero initial states
            Tensor y = out.output();                                                   // [T][B][H]
            Tensor hN = out.hN(), cN = out.cN();                                       // [layers][B][H]
            System.out.println(chosen.engine().name() + " because " + chosen.reason());
            // --- README example ends
            RnnOutput ref = new CpuReferenceEngine(saved).run(x, null, null);
            assertThat(Accuracy.relativeError(y, ref.output())).isLessThanOrEqualTo(chosen.engine().tolerance());
            assertThat(Accuracy.relativeError(hN, ref.hN())).isLessThanOrEqualTo(chosen.engine().tolerance());
            assertThat(Accuracy.relativeError(cN, ref.cN())).isLessThanOrEqualTo(chosen.engine().tolerance());
        }
    }

    @Test
    void readmeFloatExampleRunsAndMatchesTheReference() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 8, 16, 1, 0.3, 1.0, 13);
        Tensor x = SyntheticModels.input(6, 3, 8, 14);
        EngineOptions options = EngineOptions.builder().engine("auto").batchHint(x.dim(1)).build();
        float[] got;

        // --- README float example begins
        FloatTensor xf = FloatTensor.of(x);                                           // or new FloatTensor(shape, floats)
        FloatTensor yf = FloatTensor.zeros(xf.dim(0), xf.dim(1), model.hiddenSize()); // [T][B][H], reusable
        try (EngineSelection chosen = EngineProvider.select(model, options)) {
            FloatRnnOutput outF = chosen.engine().runFloat(xf, null, null, yf);       // fills yf; returns it with hN, cN
            float[] y32 = yf.data();                                                  // [T][B][H], row-major
            // --- README float example ends
            assertThat(outF.output()).isSameAs(yf);
            got = y32;
            RnnOutput ref = new CpuReferenceEngine(model).run(xf.toTensor(), null, null);
            assertThat(Accuracy.relativeError(new FloatTensor(yf.shape(), got).toTensor(), ref.output()))
                    .isLessThanOrEqualTo(chosen.engine().tolerance());
            assertThat(Accuracy.relativeError(outF.hN().toTensor(), ref.hN())).isLessThanOrEqualTo(chosen.engine().tolerance());
        }
    }

    @Test
    void readmeLengthsAndSessionExampleRunsAndMatchesTheReference() {
        RnnModel model = SyntheticModels.random(CellType.GRU, 8, 16, 2, 0.3, 1.0, 15);
        Tensor x = SyntheticModels.input(6, 3, 8, 16);
        EngineOptions options = EngineOptions.builder().engine("auto").batchHint(x.dim(1)).build();
        Tensor firstSteps = new Tensor(new int[] {2, 3, 8}, java.util.Arrays.copyOfRange(x.data(), 0, 2 * 3 * 8));
        Tensor nextSteps = new Tensor(new int[] {4, 3, 8}, java.util.Arrays.copyOfRange(x.data(), 2 * 3 * 8, 6 * 3 * 8));

        // --- README lengths example begins
        SequenceLengths lengths = SequenceLengths.of(6, 2, 5);                       // one per batch element, each 1..T
        try (EngineSelection chosen = EngineProvider.select(model, options)) {
            RnnOutput packed = chosen.engine().run(x, null, null, lengths);           // zeros after each end; hN, cN at each one's last step
            try (Session s = chosen.engine().openSession(x.dim(1), null, null)) {    // batch, h0, c0 (null: zeros)
                Tensor first = s.step(firstSteps);                                    // [t][B][I] -> [t][B][H]
                Tensor next = s.step(nextSteps);                                      // goes on from the state the first left
                Tensor h = s.state().hN();                                            // the current states, [layers][B][H]
                // --- README lengths example ends
                RnnOutput whole = new CpuReferenceEngine(model).run(x, null, null);
                assertThat(Accuracy.relativeError(h, whole.hN())).isLessThanOrEqualTo(chosen.engine().tolerance());
                assertThat(first.dim(0) + next.dim(0)).isEqualTo(6);
                RnnOutput ref = new CpuReferenceEngine(model).run(x, null, null, lengths);
                assertThat(Accuracy.relativeError(packed.output(), ref.output())).isLessThanOrEqualTo(chosen.engine().tolerance());
                assertThat(packed.output().data()[(3 * 3 + 1) * 16]).isZero();
            }
        }
    }
}
