package org.sprnn.engine.cpu;

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
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Does the Vector API pay? The {@code cpu} engine with its Vector API loops against its scalar loops,
 * on CpuEngineBenchmark's workload (hidden 2304, input 2304, batch 4, density 10%, 256 steps), one
 * thread so that the other core's tenants disturb it least. Lives in the engine's package to reach
 * the package-private switch {@code CpuEngine(model, threads, vectorApi)}.
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
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class CpuEngineVectorApiBenchmark {
    static final int STEPS = 256;

    @Param({"true", "false"})
    public boolean vectorApi;

    @Param({"1"})
    public int threads;

    private CpuEngine engine;
    private Tensor input;

    @Setup(Level.Trial)
    public void setup() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, 2304, 2304, 1, 0.1, 0.1, 42);
        engine = new CpuEngine(model, threads, vectorApi);
        input = SyntheticModels.input(STEPS, 4, 2304, 100);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public RnnOutput sequence() {
        return engine.run(input, null, null);
    }
}
