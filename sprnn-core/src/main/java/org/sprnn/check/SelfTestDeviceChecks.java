package org.sprnn.check;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.KernelCompiler;

/**
 * Why this file exists: before {@code sprnn selftest} trusts the CUDA bindings with its matrix, it checks them
 * directly. NVRTC must find the toolkit headers and convert to fp16/bf16 as Java does, and each fault a user can meet
 * (device out of memory, a kernel that does not compile, an invalid launch) must become one line naming the call and
 * the error with the context still usable. {@link #expectFault} is also how {@link Float32ContractCheck} checks its
 * refusals, so the two print alike.
 */
final class SelfTestDeviceChecks {
    private SelfTestDeviceChecks() {
    }

    /**
     * Compiles {@code toolkit_header_probe.cu} (which includes {@code <cuda_fp16.h>} and
     * {@code <cuda_bf16.h>}) with NVRTC, runs it and compares with Java's own fp16 rounding.
     *
     * @return 1 if it failed, else 0
     */
    static int headerProbe(CudaEnvironment env, PrintStream out) {
        try (CudaContext ctx = CudaContext.open(0); CudaStream stream = ctx.createStream()) {
            KernelCompiler compiler = new KernelCompiler();
            byte[] cubin = compiler.compile("toolkit_header_probe.cu", "toolkit_header_probe_" + env.device().arch(),
                    Map.of(), env.device().arch());
            int n = 1000;
            try (CudaModule mod = ctx.loadModule(cubin, "toolkit_header_probe");
                 DeviceBuffer in = ctx.allocate(4L * n, "probe in");
                 DeviceBuffer oh = ctx.allocate(2L * n, "probe fp16");
                 DeviceBuffer ob = ctx.allocate(2L * n, "probe bf16");
                 Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(4L * n, 4);
                java.util.SplittableRandom r = new java.util.SplittableRandom(7);
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (r.nextGaussian() * 100);
                    host.setAtIndex(ValueLayout.JAVA_FLOAT, i, v[i]);
                }
                in.upload(host, 0, stream);
                mod.kernel("toolkit_header_probe").launch(stream, (n + 255) / 256, 256, 0, in, oh, ob, n);
                MemorySegment hh = a.allocate(2L * n, 2), hb = a.allocate(2L * n, 2);
                oh.download(hh, 0, stream);
                ob.download(hb, 0, stream);
                int bad = 0;
                for (int i = 0; i < n; i++) {
                    if (hh.getAtIndex(ValueLayout.JAVA_SHORT, i) != Precision.FP16.encode(v[i])
                            || hb.getAtIndex(ValueLayout.JAVA_SHORT, i) != Precision.BF16.encode(v[i])) {
                        bad++;
                    }
                }
                out.printf("NVRTC toolkit headers (<cuda_fp16.h>, <cuda_bf16.h>) with %s: %s%n",
                        compiler.includeOptions().isEmpty() ? "no -I (none found)" : String.join(" ", compiler.includeOptions()),
                        bad == 0 ? "PASS (compiled, ran, " + n + " conversions match Java's)" : "FAIL (" + bad + " of " + n + " conversions differ)");
                return bad == 0 ? 0 : 1;
            }
        } catch (RuntimeException e) {
            out.println("NVRTC toolkit headers (<cuda_fp16.h>, <cuda_bf16.h>): FAIL: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Provokes the faults a user can meet and checks each becomes one line naming the call and the
     * error, with the context still usable afterwards: device out-of-memory, a kernel that does not
     * compile (NVRTC log in the message), an invalid launch configuration.
     *
     * @return the number of checks that failed
     */
    static int faultChecks(CudaEnvironment env, PrintStream out) {
        int failed = 0;
        try (CudaContext ctx = CudaContext.open(0); CudaStream stream = ctx.createStream()) {
            failed += expectFault(out, "device out of memory", "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY",
                    () -> ctx.allocate(1L << 50, "fault check (1 PiB)").close());
            KernelCompiler compiler = new KernelCompiler();
            failed += expectFault(out, "kernel that does not compile", "undefined_function_in_fault_check",
                    () -> compiler.compileSource("extern \"C\" __global__ void broken() { undefined_function_in_fault_check(); }\n",
                            "fault_check.cu", "fault_check_" + System.nanoTime(), Map.of(), env.device().arch()));
            byte[] cubin = compiler.compile("toolkit_header_probe.cu", "toolkit_header_probe_" + env.device().arch(),
                    Map.of(), env.device().arch());
            try (CudaModule mod = ctx.loadModule(cubin, "toolkit_header_probe")) {
                CudaModule.CudaKernel k = mod.kernel("toolkit_header_probe");
                failed += expectFault(out, "launch with 4096 threads per block", "cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE",
                        () -> k.launch(stream, 1, 4096, 0, 0L, 0L, 0L, 0));
                stream.synchronize();
                try (DeviceBuffer b = ctx.allocate(1024, "after the faults")) {
                    b.fill((byte) 0, stream);
                    stream.synchronize();
                }
                out.println("fault check: context usable after the faults: PASS");
            }
        } catch (RuntimeException e) {
            out.println("fault check: FAIL: the context did not survive: " + e.getMessage());
            failed++;
        }
        return failed;
    }

    static int expectFault(PrintStream out, String what, String expected, Runnable action) {
        try {
            action.run();
            out.println("fault check: " + what + ": FAIL (no error raised)");
            return 1;
        } catch (SprnnException e) {
            String msg = e.getMessage();
            boolean ok = msg.contains(expected);
            String shown = msg.length() > 300 ? msg.substring(0, 300) + "..." : msg;
            out.println("fault check: " + what + ": " + (ok ? "PASS" : "FAIL (expected '" + expected + "')") + " — " + shown);
            return ok ? 0 : 1;
        } catch (RuntimeException e) {
            out.println("fault check: " + what + ": FAIL (not a one-line sprnn error: " + e + ")");
            return 1;
        }
    }
}
