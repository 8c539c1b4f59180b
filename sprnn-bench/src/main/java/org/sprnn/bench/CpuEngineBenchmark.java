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
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Time per timestep of the {@code cpu} engine on issue 2's speed workload: a vanilla ReLU layer, hidden
 * 2304, input 2304, batch 4, 10% density in both W_ih and W_hh, 256 steps.
 *
 * <p>One invocation runs the whole sequence through the public API, in the two ways a caller can:
 * <ul>
 *   <li>{@link #sequence}: {@code engine.run(Tensor, ...)} on float64 tensors, including the engine's
 *       conversion of the double input to float32 and of the outputs back to a freshly allocated
 *       {@code double[T*B*H]};
 *   <li>{@link #sequenceFloat}: {@code engine.runFloat(FloatTensor, ...)}, what a caller whose data is
 *       float32 calls: the input is read as it is and the outputs go into one {@code [T][B][H]} float
 *       buffer that the caller reuses from run to run (the input check, the input's transposition into
 *       the engine's layout and the output's are all included).
 * </ul>
 * {@code @OperationsPerInvocation(256)} makes JMH report the time per step. Both paths are checked
 * against {@code cpu-reference} on 8 steps before anything is timed. Four inputs are used in rotation
 * so that no run sees the same data as the one before.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar sprnn-bench/target/sprnn-bench.jar CpuEngineBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class CpuEngineBenchmark {
    static final int STEPS = 256;

    @Param({"2304"})
    public int hidden;

    @Param({"2304"})
    public int inputSize;

    @Param({"4"})
    public int batch;

    @Param({"0.1"})
    public double density;

    @Param({"2"})
    public int threads;

    private CpuEngine engine;
    private Tensor[] inputs;
    private FloatTensor[] floatInputs; // the same values as inputs, float32
    private FloatTensor floatOutput; // [T][B][H] reused by every sequenceFloat call
    private int next;

    @Setup(Level.Trial)
    public void setup() {
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, inputSize, hidden, 1, density, density, 42);
        engine = new CpuEngine(model, threads);
        inputs = new Tensor[4];
        floatInputs = new FloatTensor[4];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = SyntheticModels.input(STEPS, batch, inputSize, 100 + i);
            floatInputs[i] = FloatTensor.of(inputs[i]);
        }
        floatOutput = FloatTensor.zeros(STEPS, batch, hidden);
        Tensor shortInput = SyntheticModels.input(8, batch, inputSize, 7);
        RnnOutput ref = new CpuReferenceEngine(model).run(shortInput, null, null);
        double err = Accuracy.relativeError(engine.run(shortInput, null, null).output(), ref.output());
        double errFloat = Accuracy.relativeError(engine.runFloat(FloatTensor.of(shortInput), null, null, null).output().toTensor(), ref.output());
        if (!(err <= 1e-5) || !(errFloat <= 1e-5)) {
            throw new IllegalStateException("cpu engine disagrees with cpu-reference before timing: relative error " + err
                    + " (run), " + errFloat + " (runFloat)");
        }
        System.out.printf("# verified against cpu-reference (8 steps): relative error %.2e (run), %.2e (runFloat); weights streamed per step %d bytes; threads %d%n",
                err, errFloat, engine.weightBytes(), engine.threads());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public RnnOutput sequence() {
        Tensor x = inputs[next];
        next = (next + 1) % inputs.length;
        return engine.run(x, null, null);
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public FloatRnnOutput sequenceFloat() {
        FloatTensor x = floatInputs[next];
        next = (next + 1) % floatInputs.length;
        return engine.runFloat(x, null, null, floatOutput);
    }
}
