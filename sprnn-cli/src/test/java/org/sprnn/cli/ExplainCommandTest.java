package org.sprnn.cli;

// sprnn explain: every engine with feasible or not and why, the figures, the choice; --tune measures and keeps the
// figure (here the cpu engine's: no GPU on the test machine), and run --tune goes by it.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineFactory;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;

class ExplainCommandTest {
    @TempDir
    Path dir;
    Path model;

    @BeforeEach
    void files() {
        model = dir.resolve("gru.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.GRU, 5, 12, 2, 0.4, 1.0, 3), model, Precision.FP32);
        System.setProperty("sprnn.cache", dir.resolve("cache").toString());
    }

    @AfterEach
    void cache() {
        System.clearProperty("sprnn.cache");
    }

    @Test
    void listsEveryEngineAndTheChoice() {
        CliTest.Result r = cli("explain", "--model", model.toString(), "--batch", "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("gru, 2 layer(s), input 5, hidden 12, batch 3, fp16 weights on the GPU engines", "auto: ", "<- chosen");
        for (EngineFactory f : EngineProvider.factories()) {
            assertThat(r.out()).contains(f.name());
        }
        if (org.sprnn.engine.cuda.GpuStatus.deviceLimits().isEmpty()) {
            // no GPU: the GPU engines are not choices, but their H100 predictions are shown, marked as such
            String sparse = r.out().lines().filter(l -> l.startsWith("cuda-sparse-persistent ")).findFirst().orElseThrow();
            assertThat(sparse).matches("cuda-sparse-persistent +no +[0-9]+\\.[0-9]{2} +- .*").contains("(predicted: on an H100, assumed)");
            assertThat(r.out()).doesNotContain("auto: cuda-");
        }
    }

    @Test
    void tuneMeasuresKeepsTheFigureAndRunUsesIt() throws Exception {
        CliTest.Result r = cli("explain", "--model", model.toString(), "--batch", "2", "--tune", "--steps", "4");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("measuring cpu ...");
        assertThat(Files.readString(dir.resolve("cache").resolve("tune.properties"))).contains("|cpu|fp16|gru|L2|I5|H12|", "|B2=");
        Path x = dir.resolve("x.npy");
        Npy.write(x, SyntheticModels.input(4, 2, 5, 1), Precision.FP32);
        CliTest.Result run = cli("run", "--model", model.toString(), "--input", x.toString(), "--output", dir.resolve("y.npy").toString(),
                "--verbose");
        assertThat(run.code()).as(run.err()).isZero();
        if (EngineProvider.advise(ModelFiles.load(model, null), org.sprnn.engine.EngineOptions.builder().batchHint(2).build(),
                org.sprnn.engine.Trials.NONE).chosen().equals("cpu")) {
            assertThat(run.err()).contains("engine cpu (the least cost per step", "measured earlier");
        }
    }

    @Test
    void aBadPrecisionIsOneLine() {
        CliTest.assertOneLineError(cli("explain", "--model", model.toString(), "--precision", "fp8"), "--precision", "fp8");
    }
}
