package org.sprnn.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Does the Vector API pay? The {@code cpu} engine with its Vector API loops against its scalar loops,
 * on CpuEngineBenchmark's workload (hidden 2304, input 2304, batch 4, density 10%, 256 steps), one
 * thread so that the other core's tenants disturb it least.
 *
 * <p>The public constructor {@code CpuEngine(model, threads)} takes the Vector API loops exactly when the
 * JVM has the {@code jdk.incubator.vector} module, so the two benchmarks differ only in their fork's JVM
 * arguments ({@code jvmArgs} replaces the launching JVM's, so a {@code --add-modules} given to
 * {@code java -jar} does not leak into the scalar fork). Setup checks {@link CpuEngine#usesVectorApi()}
 * before anything is timed.
 *
 * <pre>
 * java -jar sprnn-bench/target/sprnn-bench.jar CpuEngineVectorApiBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class CpuEngineVectorApiBenchmark {
    static final int STEPS = 256;

    @Param({"1"})
    public int threads;

    private CpuEngine engine;
    private Tensor input;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        boolean expected = params.getBenchmark().endsWith(".vectorApiLoops");
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 2304, 2304, 1, 0.1, 0.1, 42);
        engine = new CpuEngine(model, threads);
        if (engine.usesVectorApi() != expected) {
            engine.close();
            throw new IllegalStateException(params.getBenchmark() + ": expected the cpu engine with"
                    + (expected ? "" : "out") + " the Vector API loops, got the other (JVM arguments " + params.getJvmArgs() + ")");
        }
        input = SyntheticModels.input(STEPS, 4, 2304, 100);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    /** The Vector API loops: the fork has {@code jdk.incubator.vector}. */
    @Benchmark
    @OperationsPerInvocation(STEPS)
    @Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
    public RnnOutput vectorApiLoops() {
        return engine.run(input, null, null);
    }

    /** The scalar loops: the fork lacks {@code jdk.incubator.vector}. */
    @Benchmark
    @OperationsPerInvocation(STEPS)
    @Fork(value = 1, jvmArgs = {"-Xmx4g"})
    public RnnOutput scalarLoops() {
        return engine.run(input, null, null);
    }
}
