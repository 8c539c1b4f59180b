package org.sprnn.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's copy bandwidth, the denominator of the {@code cpu} engine's memory floor.
 *
 * <p>Each invocation copies one {@code float[]} of {@code megabytes} MiB into another with
 * {@code System.arraycopy}; bytes moved = 2 × size (read + written). Arrays far larger than the L3
 * cache (32 MiB here) measure DRAM. {@code copy1} uses one thread, {@code copy2} two threads each with
 * their own arrays (aggregate bandwidth = 2 × 2 × size / time).
 *
 * <pre>
 * java -jar sprnn-bench/target/sprnn-bench.jar CopyBandwidthBenchmark
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 8, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g"})
public class CopyBandwidthBenchmark {

    /** One thread's pair of arrays. */
    @State(Scope.Thread)
    public static class Arrays {
        @Param({"256"})
        public int megabytes;

        float[] src;
        float[] dst;

        @Setup
        public void setup() {
            int n = megabytes * (1 << 20) / 4;
            src = new float[n];
            dst = new float[n];
            for (int i = 0; i < n; i++) {
                src[i] = i;
                dst[i] = -i; // touch every page before timing
            }
        }
    }

    @Benchmark
    @Threads(1)
    public float[] copy1(Arrays a) {
        System.arraycopy(a.src, 0, a.dst, 0, a.src.length);
        return a.dst;
    }

    @Benchmark
    @Threads(2)
    public float[] copy2(Arrays a) {
        System.arraycopy(a.src, 0, a.dst, 0, a.src.length);
        return a.dst;
    }
}
