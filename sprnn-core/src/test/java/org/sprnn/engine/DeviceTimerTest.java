package org.sprnn.engine;

// Engine.deviceTimer(), the one timing capability commands use: the CPU engines have no device clock (and
// asking runs nothing), and BatchFirstEngine hands the wrapped engine's timer the input sets transposed to
// [T][B][I], after checking them against [B][T][I].

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class DeviceTimerTest {
    private static final int T = 5, B = 3, I = 4, H = 6;

    private static RnnModel model() {
        return SyntheticModels.random(CellType.GRU, I, H, 1, 0.5, 1.0, 7);
    }

    @Test
    void cpuEnginesHaveNoDeviceClock() {
        RnnModel m = model();
        for (String name : List.of("cpu", "cpu-reference")) {
            EngineOptions o = EngineOptions.builder().engine(name).threads(1).precision(Precision.FP32).batchHint(B).build();
            try (EngineSelection sel = EngineProvider.select(m, o)) {
                assertThat(sel.engine().deviceTimer()).as(name).isEmpty();
            }
        }
    }

    @Test
    void batchFirstTimesTheTransposedInputSets() {
        RnnModel m = model();
        List<Tensor> seen = new ArrayList<>();
        Engine timed = new Engine() { // a stand-in GPU engine: records what its timer is given
            @Override
            public String name() {
                return "timed";
            }

            @Override
            public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
                throw new AssertionError("timing must not run the engine");
            }

            @Override
            public Optional<DeviceTimer> deviceTimer() {
                return Optional.of((sets, h0, c0, warmup, reps) -> {
                    seen.addAll(sets);
                    return new DeviceTimes(sets.get(0).dim(0), new double[reps], new double[reps], "fake, warmup " + warmup);
                });
            }

            @Override
            public void close() {
            }
        };
        try (BatchFirstEngine bf = new BatchFirstEngine(m, timed)) {
            Tensor a = SyntheticModels.input(B, T, I, 1), b = SyntheticModels.input(B, T, I, 2);
            DeviceTimes t = bf.deviceTimer().orElseThrow().time(List.of(a, b), null, null, 3, 20);
            assertThat(t.steps()).isEqualTo(T);
            assertThat(t.fullMicros()).hasSize(20);
            assertThat(t.how()).isEqualTo("fake, warmup 3");
            assertThat(seen).hasSize(2);
            assertThat(seen.get(0).shape()).containsExactly(T, B, I);
            assertThat(seen.get(0).data()).containsExactly(a.transpose01().data());
            assertThat(seen.get(1).data()).containsExactly(b.transpose01().data());
            assertThatThrownBy(() -> bf.deviceTimer().orElseThrow().time(List.of(Tensor.zeros(B, T, I + 1)), null, null, 1, 20))
                    .isInstanceOf(SprnnException.class).hasMessageContaining("batch first");
        }
        try (BatchFirstEngine bf = new BatchFirstEngine(m, new CpuReferenceEngine(m))) {
            assertThat(bf.deviceTimer()).isEmpty();
        }
    }

    @Test
    void wallClockTimingStopsAtItsBudgetAfterThreeRunsAndSaysSo() {
        int[] runs = {0};
        Engine slow = new Engine() {
            @Override
            public String name() {
                return "slow";
            }

            @Override
            public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
                runs[0]++;
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return new RnnOutput(Tensor.zeros(T, B, H), Tensor.zeros(1, B, H), null);
            }

            @Override
            public void close() {
            }
        };
        List<Tensor> sets = List.of(Tensor.zeros(T, B, I));
        // a budget of 1 ns: the warm-up is the one run asked for, the timing the fewest runs
        DeviceTimes budgeted = DeviceTimes.of(slow, sets, null, null, 1, 20, 1);
        assertThat(budgeted.recurrentMicros()).hasSize(DeviceTimes.MIN_WALL_RUNS);
        assertThat(budgeted.how()).isEqualTo("wall clock around run(), 3 runs (of 20: time budget) after 1 warm-up; "
                + "recurrent = full (the input projection cannot be timed apart)");
        assertThat(runs[0]).isEqualTo(1 + 3);
        // no budget: the engine warms up for a while (the JIT's time) whatever the runs asked for, then is timed
        runs[0] = 0;
        long t0 = System.nanoTime();
        DeviceTimes all = DeviceTimes.of(slow, sets, null, null, 0, 5);
        assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(DeviceTimes.WALL_WARMUP_NANOS);
        assertThat(all.recurrentMicros()).hasSize(5);
        assertThat(java.util.Arrays.stream(all.recurrentMicros()).min().orElseThrow()).isGreaterThanOrEqualTo(2000);
        assertThat(all.how()).startsWith("wall clock around run(), 5 runs after ").endsWith(" warm-up; recurrent = full (the input projection cannot be timed apart)");
        assertThat(runs[0]).isGreaterThan(5 + 10); // 2 ms a run: well over ten warm-up runs in 0.3 s
    }

    @Test
    void wallClockWarmUpGoesOnWhileTheRunsGetFasterAndNotFromTheFirstRunsTime() {
        // on a clock of its own, an engine whose first run takes 400 ms (class loading), then each run 7% faster (the JIT
        // at work) down to 1 ms: each run advances the clock by its time, so nothing depends on this machine's load
        long[] now = {0};
        int[] runs = {0};
        Engine jit = onClock("jit", now, runs, r -> r == 0 ? 400_000_000L : (long) Math.max(1e6, 8e6 * Math.pow(0.93, r)));
        // a budget of 50 ms: the first run alone is longer, and 50 ms of runs after it reach only the 5 ms ones; the runs
        // still getting faster keep the warm-up going until they are steady (the 29th run on), so the timed runs are fast
        DeviceTimes t = DeviceTimes.wallClock(jit, List.of(Tensor.zeros(T, B, I)), null, null, 1, 5, 50_000_000L, () -> now[0]);
        assertThat(runs[0]).isGreaterThan(29 + 5);
        assertThat(java.util.Arrays.stream(t.recurrentMicros()).max().orElseThrow()).isEqualTo(1000.0);
        // without the extension (the runs steady from the start) the warm-up is its time after the first run: 50 ms of 8 ms
        now[0] = 0;
        runs[0] = 0;
        Engine steady = onClock("steady", now, runs, r -> r == 0 ? 400_000_000L : 8_000_000L);
        DeviceTimes u = DeviceTimes.wallClock(steady, List.of(Tensor.zeros(T, B, I)), null, null, 1, 5, 50_000_000L, () -> now[0]);
        assertThat(runs[0]).isEqualTo(1 + 7 + 5); // the first, 7 of 8 ms (56 ms > 50), the 5 timed
        assertThat(u.how()).contains("after 8 warm-up");
    }

    /** An engine whose run number r (from 0) takes {@code nanos(r)} on the clock {@code now}; {@code runs} counts them. */
    private static Engine onClock(String name, long[] now, int[] runs, java.util.function.IntToLongFunction nanos) {
        return new Engine() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
                now[0] += nanos.applyAsLong(runs[0]++);
                return new RnnOutput(Tensor.zeros(T, B, H), Tensor.zeros(1, B, H), null);
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void stillFasterComparesTheMediansOfTheLastTwoWindows() {
        long[] ring = new long[2 * DeviceTimes.STEADY_WINDOW];
        java.util.Arrays.fill(ring, 100);
        assertThat(DeviceTimes.stillFaster(ring, 23)).isFalse();
        for (int k = 0; k < DeviceTimes.STEADY_WINDOW; k++) {
            ring[(22 - k) % ring.length] = 80; // the newest five runs 20% faster
        }
        assertThat(DeviceTimes.stillFaster(ring, 23)).isTrue();
        ring[22 % ring.length] = 95; // one outlier does not move a median of five
        assertThat(DeviceTimes.stillFaster(ring, 23)).isTrue();
    }
}
