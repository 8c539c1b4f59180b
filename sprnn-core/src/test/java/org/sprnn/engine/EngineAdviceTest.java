package org.sprnn.engine;

// How auto orders engines (the least cost, a measurement over a prediction, rank where neither exists) and what
// explain shows; on a machine without a GPU, the CUDA engines are infeasible with the reason and cpu is taken.

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

class EngineAdviceTest {
    private static StepCost us(double v) {
        return new StepCost(v, "test");
    }

    @Test
    void theLeastCostWinsAMeasurementOverridesAPredictionAndRankBreaksTheRest() {
        var a = new EngineAdvice.Row("a", null, us(2.0), null, 100);
        var b = new EngineAdvice.Row("b", null, us(3.0), us(1.5), 300);
        var c = new EngineAdvice.Row("c", null, null, null, 50);
        var d = new EngineAdvice.Row("d", "no device", null, null, 1);
        assertThat(EngineProvider.best(List.of(a, b, c, d)).engine()).isEqualTo("b");
        assertThat(EngineProvider.best(List.of(a, c, d)).engine()).isEqualTo("a");
        var e = new EngineAdvice.Row("e", null, null, null, 40);
        assertThat(EngineProvider.best(List.of(c, d, e)).engine()).isEqualTo("e");
        assertThat(EngineProvider.best(List.of(d))).isNull();
    }

    @Test
    void explainListsEveryEngineWithItsReasonAndTheChoice() {
        RnnModel m = SyntheticModels.random(CellType.GRU, 6, 10, 2, 0.5, 1.0, 11);
        EngineAdvice advice = EngineProvider.advise(m, EngineOptions.builder().batchHint(3).build(), Trials.NONE);
        assertThat(advice.rows()).extracting(EngineAdvice.Row::engine)
                .containsExactlyElementsOf(EngineProvider.factories().stream().map(EngineFactory::name).toList());
        assertThat(advice.chosen()).isNotNull().isNotEqualTo("cpu-reference");
        String table = advice.toTable();
        assertThat(table).contains("auto: " + advice.chosen(), "<- chosen");
        if (GpuStatus.problem().isPresent()) {
            assertThat(advice.chosen()).isEqualTo("cpu");
            assertThat(advice.row("cuda-gemm").orElseThrow().unavailable()).isEqualTo(GpuStatus.problem().get());
            assertThat(table).contains(GpuStatus.problem().get());
        }
    }

    @Test
    void aTrialMeasuresTheCpuEngineAndKeepsTheFigure(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        RnnModel m = SyntheticModels.random(CellType.RNN_TANH, 4, 8, 1, 1.0, 1.0, 2);
        EngineOptions o = EngineOptions.builder().batchHint(2).threads(1).build();
        TuneCache cache = new TuneCache(dir.resolve("tune.properties"));
        List<String> lines = new java.util.ArrayList<>();
        EngineAdvice tuned = EngineProvider.advise(m, o, new Trials(true, 4, cache, lines::add));
        var cpu = tuned.row("cpu").orElseThrow();
        assertThat(cpu.measured()).isNotNull();
        assertThat(cpu.measured().basis()).contains("measured now");
        assertThat(tuned.row("cpu-reference").orElseThrow().measured()).isNull(); // the oracle is never tuned
        assertThat(lines).contains("measuring cpu ...");
        EngineAdvice again = EngineProvider.advise(m, o, new Trials(false, 4, cache, s -> { }));
        assertThat(again.row("cpu").orElseThrow().measured().microsPerStep()).isEqualTo(cpu.measured().microsPerStep());
        assertThat(again.row("cpu").orElseThrow().measured().basis()).contains("measured earlier");
    }
}
