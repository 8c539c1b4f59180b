package org.sprnn.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.Session;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Issue 17 on the {@code cpu} engine: a batch of sequences of different lengths, and a stream of single steps. One
 * LSTM layer (hidden 1024, input 256, 10% density in W_ih and W_hh), batch 8, 256 steps, lengths drawn uniformly
 * from 1..256 (one of them 256), so about half the (step, sequence) pairs are real. Per invocation, the whole batch:
 * <ul>
 *   <li>{@link #padded}: {@code run} on the padded batch, every sequence 256 steps (what a caller without lengths does);
 *   <li>{@link #packed}: {@code run} with the lengths (the engine freezes each sequence after its end);
 *   <li>{@link #sessionSteps}: a {@link Session} fed one step at a time, 256 calls (online inference).
 * </ul>
 * Checked before timing: the packed run against {@code cpu-reference} with the same lengths, the session's state
 * after 256 steps against a whole run's.
 *
 * <pre>
 * java -jar sprnn-bench/target/sprnn-bench.jar CpuLengthsSessionBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class CpuLengthsSessionBenchmark {
    static final int STEPS = 256;
    static final int BATCH = 8;

    @Param({"1024"})
    int hidden;

    @Param({"2"})
    int threads;

    RnnModel model;
    CpuEngine engine;
    Tensor x;
    Tensor[] steps;
    SequenceLengths lengths;

    @Setup(Level.Trial)
    public void setUp() {
        model = SyntheticModels.random(CellType.LSTM, 256, hidden, 1, 0.1, 0.1, 1);
        engine = new CpuEngine(model, threads);
        x = SyntheticModels.input(STEPS, BATCH, 256, 2);
        SplittableRandom r = new SplittableRandom(3);
        int[] len = new int[BATCH];
        for (int b = 0; b < BATCH; b++) {
            len[b] = 1 + r.nextInt(STEPS);
        }
        len[0] = STEPS;
        lengths = SequenceLengths.of(len);
        steps = new Tensor[STEPS];
        int row = BATCH * 256;
        for (int t = 0; t < STEPS; t++) {
            steps[t] = new Tensor(new int[] {1, BATCH, 256}, java.util.Arrays.copyOfRange(x.data(), t * row, (t + 1) * row));
        }
        RnnOutput ref = new CpuReferenceEngine(model).run(x, null, null, lengths);
        double e = Accuracy.relativeError(engine.run(x, null, null, lengths).output(), ref.output());
        try (Session s = engine.openSession(BATCH, null, null)) {
            for (Tensor step : steps) {
                s.step(step);
            }
            double es = Accuracy.relativeError(s.state().hN(), engine.run(x, null, null).hN());
            if (e > 1e-5 || es > 1e-5) {
                throw new IllegalStateException("not timed: packed run off by " + e + ", session by " + es);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    public RnnOutput padded() {
        return engine.run(x, null, null);
    }

    @Benchmark
    public RnnOutput packed() {
        return engine.run(x, null, null, lengths);
    }

    @Benchmark
    public RnnOutput sessionSteps() {
        try (Session s = engine.openSession(BATCH, null, null)) {
            for (Tensor step : steps) {
                s.step(step);
            }
            return s.state();
        }
    }
}
