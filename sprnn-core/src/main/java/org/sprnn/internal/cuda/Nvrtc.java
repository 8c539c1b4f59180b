package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.List;
import java.util.Map;

/**
 * NVRTC ({@code libnvrtc.so.13}, or {@code .12}): compiles CUDA C++ straight to a CUBIN for one
 * architecture, keeping the program log whether or not the compile succeeds.
 */
public final class Nvrtc {
    public static final List<String> SONAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12");

    private final NativeFunction nvrtcVersion, nvrtcGetErrorString, nvrtcCreateProgram, nvrtcCompileProgram,
            nvrtcGetProgramLogSize, nvrtcGetProgramLog, nvrtcGetCUBINSize, nvrtcGetCUBIN, nvrtcDestroyProgram;
    private final String path;
    private final int major, minor;

    private Nvrtc(SymbolLookup lib, String path) {
        this.path = path;
        Binder b = new Binder(lib, "libnvrtc", this::errorText);
        nvrtcGetErrorString = b.bindRaw("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        nvrtcVersion = b.bind("nvrtcVersion", ADDRESS, ADDRESS);
        nvrtcCreateProgram = b.bind("nvrtcCreateProgram", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        nvrtcCompileProgram = b.bind("nvrtcCompileProgram", ADDRESS, JAVA_INT, ADDRESS);
        nvrtcGetProgramLogSize = b.bind("nvrtcGetProgramLogSize", ADDRESS, ADDRESS);
        nvrtcGetProgramLog = b.bind("nvrtcGetProgramLog", ADDRESS, ADDRESS);
        nvrtcGetCUBINSize = b.bind("nvrtcGetCUBINSize", ADDRESS, ADDRESS);
        nvrtcGetCUBIN = b.bind("nvrtcGetCUBIN", ADDRESS, ADDRESS);
        nvrtcDestroyProgram = b.bind("nvrtcDestroyProgram", ADDRESS);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mj = a.allocate(JAVA_INT), mn = a.allocate(JAVA_INT);
            nvrtcVersion.check(mj, mn);
            major = mj.get(JAVA_INT, 0);
            minor = mn.get(JAVA_INT, 0);
        }
    }

    private String errorText(int rc) {
        MemorySegment s = (MemorySegment) nvrtcGetErrorString.invoke(rc);
        return CudaDriver.cString(s);
    }

    private static final class Holder {
        static final BoundLibrary<Nvrtc> LIB = BoundLibrary.open("NVRTC", SONAMES, Nvrtc::new);
    }

    /** Why NVRTC cannot be used here, or {@code null}. Never throws. */
    public static String problem() {
        return BoundLibrary.problemOf(() -> Holder.LIB, "NVRTC");
    }

    /** The loaded NVRTC, or a {@link CudaException} with {@link #problem()}. */
    public static Nvrtc get() {
        return BoundLibrary.require(() -> Holder.LIB, "NVRTC");
    }

    /** The library file loaded. */
    public String path() {
        return path;
    }

    /** NVRTC's version, e.g. {@code 13.0}. */
    public String version() {
        return major + "." + minor;
    }

    /**
     * What a compile produced.
     *
     * @param cubin the CUBIN image, or {@code null} if the compile failed
     * @param log   the full program log (may be empty)
     */
    public record Result(byte[] cubin, String log) {
    }

    /**
     * Compiles one translation unit.
     *
     * @param source  the {@code .cu} text
     * @param name    its file name (shown in the log)
     * @param headers include name → text, resolved for {@code #include "name"}
     * @param options NVRTC options, e.g. {@code --gpu-architecture=sm_90}, {@code -DHIDDEN=256}
     */
    public Result compile(String source, String name, Map<String, String> headers, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            int nh = headers.size();
            MemorySegment hdrText = a.allocate(ADDRESS, Math.max(1, nh));
            MemorySegment hdrName = a.allocate(ADDRESS, Math.max(1, nh));
            int i = 0;
            for (Map.Entry<String, String> e : headers.entrySet()) {
                hdrName.setAtIndex(ADDRESS, i, a.allocateFrom(e.getKey()));
                hdrText.setAtIndex(ADDRESS, i, a.allocateFrom(e.getValue()));
                i++;
            }
            nvrtcCreateProgram.check(prog, a.allocateFrom(source), a.allocateFrom(name), nh,
                    nh == 0 ? MemorySegment.NULL : hdrText, nh == 0 ? MemorySegment.NULL : hdrName);
            MemorySegment p = prog.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, Math.max(1, options.size()));
                for (int k = 0; k < options.size(); k++) {
                    opts.setAtIndex(ADDRESS, k, a.allocateFrom(options.get(k)));
                }
                int rc = nvrtcCompileProgram.call(p, options.size(), opts);
                MemorySegment size = a.allocate(JAVA_LONG);
                nvrtcGetProgramLogSize.check(p, size);
                MemorySegment logBuf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                nvrtcGetProgramLog.check(p, logBuf);
                String log = logBuf.getString(0).strip();
                if (rc != 0) {
                    return new Result(null, errorText(rc) + (log.isEmpty() ? "" : "\n" + log));
                }
                nvrtcGetCUBINSize.check(p, size);
                MemorySegment bin = a.allocate(size.get(JAVA_LONG, 0));
                nvrtcGetCUBIN.check(p, bin);
                return new Result(bin.toArray(JAVA_BYTE), log);
            } finally {
                nvrtcDestroyProgram.check(prog);
            }
        }
    }
}
