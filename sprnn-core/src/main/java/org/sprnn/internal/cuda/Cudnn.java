// Cudnn.java — cuDNN 9's RNN inference API through FFM, for the cuda-cudnn engine: the handle, the RNN, RNN-data and
// tensor descriptors, the weight-space queries and cudnnRNNForward. Signatures and enum values follow cuDNN 9's
// cudnn_graph.h, cudnn_ops.h and cudnn_adv.h (9.x). cuDNN 9 splits itself into sub-libraries (graph, ops, adv, ...);
// libcudnn.so.9 exports the whole public API and loads the sub-library a call needs on first use, so every symbol is
// bound from it, and only a symbol it lacks is looked for in libcudnn_adv.so.9 / libcudnn_ops.so.9 / libcudnn_graph.so.9.
// Every failure names the call, cuDNN's status name and number, and cuDNN's own message for it
// (cudnnGetLastErrorString), so that a refusal ("this algorithm does not support this shape") reads as such.
package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * cuDNN 9 ({@code libcudnn.so.9}): {@code cudnnRNNForward} in inference mode and what it needs.
 *
 * <p>Loaded on first use ({@link #get()}); {@link #problem()} says why it cannot be, without throwing: library not
 * found, a symbol missing, a version older than 9, or the RNN sub-library ({@code libcudnn_adv.so.9}) failing its
 * version check. Handles and descriptors are {@link AutoCloseable}; device pointers are {@code long}.
 */
public final class Cudnn {
    public static final List<String> SONAMES = List.of("libcudnn.so.9");
    /** Where a symbol {@code libcudnn.so.9} does not export is looked for, in this order. */
    static final List<String> SUBLIBRARIES = List.of("libcudnn_adv.so.9", "libcudnn_ops.so.9", "libcudnn_graph.so.9");
    /** {@code cudnnGetVersion()} of cuDNN 9.0.0: the oldest sprnn binds (the v8 RNN API with cuDNN 9's error reporting). */
    public static final long MIN_VERSION = 90000;

    // cudnnStatus_t (cudnn_graph.h)
    public static final int STATUS_SUCCESS = 0;
    public static final int STATUS_BAD_PARAM = 2000;
    public static final int STATUS_NOT_SUPPORTED = 3000;
    // cudnnRNNAlgo_t (cudnn_adv.h)
    public static final int RNN_ALGO_STANDARD = 0;
    public static final int RNN_ALGO_PERSIST_STATIC = 1;
    public static final int RNN_ALGO_PERSIST_DYNAMIC = 2;
    public static final int RNN_ALGO_PERSIST_STATIC_SMALL_H = 3;
    // cudnnForwardMode_t
    public static final int FWD_MODE_INFERENCE = 0;
    public static final int FWD_MODE_TRAINING = 1;
    // cudnnRNNMode_t
    public static final int RNN_RELU = 0;
    public static final int RNN_TANH = 1;
    public static final int LSTM = 2;
    public static final int GRU = 3;
    // cudnnRNNBiasMode_t
    public static final int RNN_NO_BIAS = 0;
    public static final int RNN_SINGLE_INP_BIAS = 1;
    public static final int RNN_DOUBLE_BIAS = 2;
    public static final int RNN_SINGLE_REC_BIAS = 3;
    // cudnnDirectionMode_t
    public static final int UNIDIRECTIONAL = 0;
    // cudnnRNNInputMode_t
    public static final int LINEAR_INPUT = 0;
    public static final int SKIP_INPUT = 1;
    // cudnnDataType_t (cudnn_graph.h)
    public static final int DATA_FLOAT = 0;
    public static final int DATA_DOUBLE = 1;
    public static final int DATA_HALF = 2;
    public static final int DATA_BFLOAT16 = 9;
    // cudnnMathType_t
    public static final int DEFAULT_MATH = 0;
    public static final int TENSOR_OP_MATH = 1;
    public static final int TENSOR_OP_MATH_ALLOW_CONVERSION = 2;
    public static final int FMA_MATH = 3;
    // cudnnRNNDataLayout_t
    public static final int RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED = 0;
    public static final int RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED = 1;
    public static final int RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED = 2;
    // auxFlags of cudnnSetRNNDescriptor_v8
    public static final int RNN_PADDED_IO_DISABLED = 0;
    public static final int RNN_PADDED_IO_ENABLED = 1;

    /** cudnnStatus_t names (cudnn_graph.h, cuDNN 9), for messages; {@code cudnnGetErrorString} covers any other code. */
    static final Map<Integer, String> STATUS_NAMES = statusNames();

    final NativeFunction cudnnCreate, cudnnDestroy, cudnnSetStream, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor,
            cudnnSetRNNDescriptor_v8, cudnnBuildRNNDynamic, cudnnCreateRNNDataDescriptor, cudnnDestroyRNNDataDescriptor,
            cudnnSetRNNDataDescriptor, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor, cudnnSetTensorNdDescriptor,
            cudnnGetTensorNdDescriptor, cudnnGetRNNWeightSpaceSize, cudnnGetRNNTempSpaceSizes, cudnnGetRNNWeightParams,
            cudnnRNNForward;
    private final NativeFunction cudnnGetVersion, cudnnGetErrorString, cudnnGetLastErrorString;
    private final String path;
    private final long version;

    /** Binds {@code lib} (the file {@code path}); package-private so that {@code CudnnStubTest} can bind a stand-in library. */
    Cudnn(SymbolLookup lib, String path) {
        this.path = path;
        Symbols symbols = new Symbols(lib, path);
        // version and error reporting first: every other binding reports through them
        cudnnGetVersion = symbols.bind("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG), rc -> "status " + rc);
        cudnnGetErrorString = symbols.bind("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT), rc -> "status " + rc);
        cudnnGetLastErrorString = symbols.bind("cudnnGetLastErrorString", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG),
                rc -> "status " + rc);
        version = (Long) cudnnGetVersion.invoke();
        if (version < MIN_VERSION) {
            throw new CudaException("cuDNN " + versionText(version) + " at " + path + " is too old: sprnn binds cuDNN 9 or newer");
        }
        cudnnCreate = bind(symbols, "cudnnCreate", ADDRESS);
        cudnnDestroy = bind(symbols, "cudnnDestroy", ADDRESS);
        cudnnSetStream = bind(symbols, "cudnnSetStream", ADDRESS, ADDRESS);
        cudnnCreateRNNDescriptor = bind(symbols, "cudnnCreateRNNDescriptor", ADDRESS);
        cudnnDestroyRNNDescriptor = bind(symbols, "cudnnDestroyRNNDescriptor", ADDRESS);
        // (rnnDesc, algo, cellMode, biasMode, dirMode, inputMode, dataType, mathPrec, mathType, inputSize, hiddenSize,
        //  projSize, numLayers, dropoutDesc, uint32 auxFlags)
        cudnnSetRNNDescriptor_v8 = bind(symbols, "cudnnSetRNNDescriptor_v8", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
        cudnnBuildRNNDynamic = bind(symbols, "cudnnBuildRNNDynamic", ADDRESS, ADDRESS, JAVA_INT);
        cudnnCreateRNNDataDescriptor = bind(symbols, "cudnnCreateRNNDataDescriptor", ADDRESS);
        cudnnDestroyRNNDataDescriptor = bind(symbols, "cudnnDestroyRNNDataDescriptor", ADDRESS);
        // (desc, dataType, layout, maxSeqLength, batchSize, vectorSize, const int seqLengthArray[], void* paddingFill)
        cudnnSetRNNDataDescriptor = bind(symbols, "cudnnSetRNNDataDescriptor", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS);
        cudnnCreateTensorDescriptor = bind(symbols, "cudnnCreateTensorDescriptor", ADDRESS);
        cudnnDestroyTensorDescriptor = bind(symbols, "cudnnDestroyTensorDescriptor", ADDRESS);
        // (desc, dataType, nbDims, const int dimA[], const int strideA[])
        cudnnSetTensorNdDescriptor = bind(symbols, "cudnnSetTensorNdDescriptor", ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        // (desc, nbDimsRequested, dataType*, nbDims*, dimA[], strideA[])
        cudnnGetTensorNdDescriptor = bind(symbols, "cudnnGetTensorNdDescriptor", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        cudnnGetRNNWeightSpaceSize = bind(symbols, "cudnnGetRNNWeightSpaceSize", ADDRESS, ADDRESS, ADDRESS);
        // (handle, rnnDesc, fwdMode, xDesc, size_t* workSpaceSize, size_t* reserveSpaceSize)
        cudnnGetRNNTempSpaceSizes = bind(symbols, "cudnnGetRNNTempSpaceSizes", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        // (handle, rnnDesc, pseudoLayer, weightSpaceSize, weightSpace, linLayerID, mDesc, void** mAddr, bDesc, void** bAddr);
        // device pointers are passed as 64-bit integers: same register class as void* on x86-64
        cudnnGetRNNWeightParams = bind(symbols, "cudnnGetRNNWeightParams", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        // (handle, rnnDesc, fwdMode, devSeqLengths, xDesc, x, yDesc, y, hDesc, hx, hy, cDesc, cx, cy,
        //  weightSpaceSize, weightSpace, workSpaceSize, workSpace, reserveSpaceSize, reserveSpace)
        cudnnRNNForward = bind(symbols, "cudnnRNNForward", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG, JAVA_LONG);
        // cuDNN 9 loads its RNN sub-library on first use; its own version check loads it now, so that a missing or
        // mismatched libcudnn_adv.so.9 is a reason at probe time rather than a failure of the first engine
        Optional<MemorySegment> advCheck = symbols.tryFind("cudnnAdvVersionCheck");
        if (advCheck.isPresent()) {
            NativeFunction check = NativeFunction.bind(n -> advCheck, "libcudnn", "cudnnAdvVersionCheck",
                    FunctionDescriptor.of(JAVA_INT), this::errorText);
            int rc = check.call();
            if (rc != STATUS_SUCCESS) {
                throw new CudaException("cuDNN " + versionText(version) + " at " + path
                        + ": its RNN sub-library (libcudnn_adv.so.9) is unusable: cudnnAdvVersionCheck failed: " + errorText(rc));
            }
        }
    }

    private NativeFunction bind(Symbols symbols, String name, MemoryLayout... args) {
        return symbols.bind(name, FunctionDescriptor.of(JAVA_INT, args), this::errorText);
    }

    /**
     * A status as {@code NAME (code): cuDNN's message}, the message read at once (it is the calling thread's last
     * error) with {@code cudnnGetLastErrorString}.
     */
    String errorText(int rc) {
        String last = lastErrorString();
        String name = STATUS_NAMES.get(rc);
        if (name == null) {
            try {
                name = CudaDriver.cString((MemorySegment) cudnnGetErrorString.invoke(rc));
            } catch (RuntimeException e) {
                name = null;
            }
        }
        return statusText(rc, name, last);
    }

    /** cuDNN's message for the calling thread's last error ({@code cudnnGetLastErrorString}), empty if none. */
    private String lastErrorString() {
        try (Arena a = Arena.ofConfined()) {
            int size = 1024;
            MemorySegment buf = a.allocate(size);
            cudnnGetLastErrorString.invoke(buf, (long) size);
            buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, size - 1, (byte) 0);
            return buf.getString(0);
        } catch (RuntimeException e) {
            return "";
        }
    }

    /**
     * The text every cuDNN failure carries: {@code CUDNN_STATUS_NOT_SUPPORTED (3000): <cuDNN's message>}, on one line;
     * where cuDNN left no message, how to get its log instead.
     *
     * @param status    the cudnnStatus_t
     * @param name      its name from the library, or {@code null} to use sprnn's table (or the number)
     * @param lastError cuDNN's own message ({@code cudnnGetLastErrorString}), or {@code null}/empty
     */
    public static String statusText(int status, String name, String lastError) {
        String n = name != null && !name.isBlank() ? oneLine(name, 80) : statusName(status);
        String m = lastError == null ? "" : oneLine(lastError, 400);
        return n + " (" + status + "): " + (m.isEmpty()
                ? "cuDNN gave no message (CUDNN_LOGERR_DBG=1 CUDNN_LOGDEST_DBG=stderr prints its log)" : m);
    }

    /** The name of a cudnnStatus_t, e.g. {@code CUDNN_STATUS_NOT_SUPPORTED}, or {@code cudnnStatus_t <n>} for an unknown one. */
    public static String statusName(int status) {
        return STATUS_NAMES.getOrDefault(status, "cudnnStatus_t " + status);
    }

    /**
     * Whether {@code status} says cuDNN does not support the configuration (the 3000–3999 category:
     * {@code CUDNN_STATUS_NOT_SUPPORTED} and its refinements), as opposed to a bad argument or a failure.
     */
    public static boolean isNotSupported(int status) {
        return status / 1000 == STATUS_NOT_SUPPORTED / 1000;
    }

    /** Text on one line: control characters (newlines included) become spaces, runs of spaces one, cut at {@code max} characters. */
    static String oneLine(String s, int max) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), max + 1));
        boolean space = false;
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c)) {
                space = b.length() > 0;
                continue;
            }
            if (space) {
                b.append(' ');
                space = false;
            }
            b.append(c);
        }
        String out = b.toString().strip();
        return out.length() >= max ? out.substring(0, max) + "..." : out;
    }

    /** {@code cudnnGetVersion()} as text: cuDNN 9 counts major·10000 + minor·100 + patch (90100 → 9.1.0); older ones major·1000 + minor·100 + patch. */
    public static String versionText(long v) {
        if (v >= 90000) {
            return v / 10000 + "." + (v % 10000) / 100 + "." + v % 100;
        }
        return v / 1000 + "." + (v % 1000) / 100 + "." + v % 100;
    }

    private static Map<Integer, String> statusNames() {
        Map<Integer, String> m = new LinkedHashMap<>();
        m.put(0, "CUDNN_STATUS_SUCCESS");
        m.put(1001, "CUDNN_STATUS_NOT_INITIALIZED");
        m.put(1002, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH");
        m.put(1003, "CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH");
        m.put(1004, "CUDNN_STATUS_DEPRECATED");
        m.put(1005, "CUDNN_STATUS_LICENSE_ERROR");
        m.put(1006, "CUDNN_STATUS_RUNTIME_IN_PROGRESS");
        m.put(1007, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW");
        m.put(1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED");
        m.put(2000, "CUDNN_STATUS_BAD_PARAM");
        m.put(2001, "CUDNN_STATUS_INVALID_VALUE");
        m.put(2002, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER");
        m.put(2003, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER");
        m.put(2004, "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED");
        m.put(2005, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND");
        m.put(2006, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT");
        m.put(2007, "CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH");
        m.put(2008, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH");
        m.put(2009, "CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES");
        m.put(2010, "CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE");
        m.put(2011, "CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH");
        m.put(2012, "CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE");
        m.put(3000, "CUDNN_STATUS_NOT_SUPPORTED");
        m.put(3001, "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN");
        m.put(3002, "CUDNN_STATUS_NOT_SUPPORTED_SHAPE");
        m.put(3003, "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE");
        m.put(3004, "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT");
        m.put(3005, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER");
        m.put(3006, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART");
        m.put(3007, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH");
        m.put(3008, "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING");
        m.put(3009, "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE");
        m.put(3010, "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT");
        m.put(3011, "CUDNN_STATUS_NOT_SUPPORTED_PADDING");
        m.put(3012, "CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM");
        m.put(3013, "CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API");
        m.put(4000, "CUDNN_STATUS_INTERNAL_ERROR");
        m.put(4001, "CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED");
        m.put(4002, "CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE");
        m.put(4003, "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED");
        m.put(4004, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED");
        m.put(4005, "CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM");
        m.put(4006, "CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED");
        m.put(5000, "CUDNN_STATUS_EXECUTION_FAILED");
        m.put(5001, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER");
        m.put(5002, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS");
        m.put(5003, "CUDNN_STATUS_EXECUTION_FAILED_CUDART");
        m.put(5004, "CUDNN_STATUS_EXECUTION_FAILED_CURAND");
        return Map.copyOf(m);
    }

    /**
     * The symbols: {@code libcudnn.so.9}'s, and for one it does not export, the sub-libraries' ({@link #SUBLIBRARIES},
     * each opened only when first needed).
     */
    private static final class Symbols {
        private final SymbolLookup main;
        private final String mainPath;
        private final Map<String, CudaLibraries.Found> subs = new LinkedHashMap<>();

        Symbols(SymbolLookup main, String mainPath) {
            this.main = main;
            this.mainPath = mainPath;
        }

        Optional<MemorySegment> tryFind(String name) {
            Optional<MemorySegment> a = main.find(name);
            if (a.isPresent()) {
                return a;
            }
            for (String so : SUBLIBRARIES) {
                CudaLibraries.Found f = subs.computeIfAbsent(so, s -> CudaLibraries.open("cuDNN " + s, List.of(s)));
                if (f.ok()) {
                    Optional<MemorySegment> b = f.lookup().find(name);
                    if (b.isPresent()) {
                        return b;
                    }
                }
            }
            return Optional.empty();
        }

        NativeFunction bind(String name, FunctionDescriptor fd, java.util.function.IntFunction<String> errorText) {
            Optional<MemorySegment> address = tryFind(name);
            if (address.isEmpty()) {
                List<String> where = new ArrayList<>();
                where.add(SONAMES.get(0) + " (" + mainPath + ")");
                for (String so : SUBLIBRARIES) {
                    CudaLibraries.Found f = subs.get(so);
                    where.add(so + (f == null ? "" : f.ok() ? " (" + f.path() + ")" : " (not found)"));
                }
                throw new CudaException(missingSymbol(name, where));
            }
            return NativeFunction.bind(n -> address, "libcudnn", name, fd, errorText);
        }
    }

    /** The reason when no cuDNN library exports {@code symbol}; {@code where} lists each library looked in. */
    static String missingSymbol(String symbol, List<String> where) {
        return "no cuDNN library exports " + symbol + " (looked in " + String.join(", ", where)
                + "): a cuDNN older than 9, or an incomplete install";
    }

    private static final class Holder {
        static final BoundLibrary<Cudnn> LIB = BoundLibrary.open("cuDNN", SONAMES, Cudnn::new);
    }

    /** Why cuDNN cannot be used here, or {@code null}. Never throws. */
    public static String problem() {
        return BoundLibrary.problemOf(() -> Holder.LIB, "cuDNN");
    }

    /** The loaded library, or a {@link CudaException} with {@link #problem()}. */
    public static Cudnn get() {
        return BoundLibrary.require(() -> Holder.LIB, "cuDNN");
    }

    /** The library file loaded. */
    public String path() {
        return path;
    }

    /** Version as text, e.g. {@code 9.14.0}. */
    public String version() {
        return versionText(version);
    }

    /** {@code cudnnGetVersion()}, e.g. {@code 91400}. */
    public long versionNumber() {
        return version;
    }

    /** Calls {@code fn(out, args...)} with a pointer-sized out-parameter first and returns it. */
    private static MemorySegment create(NativeFunction fn) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            fn.check(out);
            return out.get(ADDRESS, 0);
        }
    }

    /** A cuDNN handle ({@code cudnnCreate}/{@code cudnnDestroy}) and the calls made through it. */
    public final class Handle implements AutoCloseable {
        private final CudaContext ctx;
        private MemorySegment handle;

        /**
         * Creates a handle on {@code ctx}'s device. cuDNN works through the CUDA runtime, which uses the context current on
         * the calling thread: every call through this handle makes {@code ctx} current first (an engine may be called from
         * any thread, one at a time).
         */
        public Handle(CudaContext ctx) {
            this.ctx = ctx;
            ctx.makeCurrent();
            handle = create(cudnnCreate);
        }

        /** A handle cudnnCreate made elsewhere, without a context to make current (for {@code CudnnStubTest}). */
        Handle(MemorySegment handle) {
            this.ctx = null;
            this.handle = handle;
        }

        /** The handle, {@code ctx} made current on the calling thread. */
        MemorySegment get() {
            if (handle == null) {
                throw new IllegalStateException("cuDNN handle used after close");
            }
            if (ctx != null) {
                ctx.makeCurrent();
            }
            return handle;
        }

        /** Queues this handle's work on {@code stream} ({@code cudnnSetStream}). */
        public void setStream(CudaStream stream) {
            cudnnSetStream.check(get(), stream.handle());
        }

        /**
         * An RNN descriptor ({@code cudnnCreateRNNDescriptor} + {@code cudnnSetRNNDescriptor_v8}), unidirectional, no
         * dropout, projSize = hiddenSize (no projection).
         *
         * @throws CudaException naming {@code cudnnSetRNNDescriptor_v8} and cuDNN's status and message when cuDNN refuses it
         */
        public RnnDescriptor rnn(int algo, int cellMode, int biasMode, int inputMode, int dataType, int mathPrec, int mathType,
                                 int inputSize, int hiddenSize, int numLayers, int auxFlags) {
            get(); // the context current: cuDNN may ask the device while it checks the descriptor
            RnnDescriptor d = new RnnDescriptor();
            try {
                cudnnSetRNNDescriptor_v8.check(d.get(), algo, cellMode, biasMode, UNIDIRECTIONAL, inputMode, dataType, mathPrec,
                        mathType, inputSize, hiddenSize, hiddenSize, numLayers, MemorySegment.NULL, auxFlags);
            } catch (RuntimeException | Error e) {
                d.closeAfter(e);
                throw e;
            }
            return d;
        }

        /** Prepares {@code rnn}'s PERSIST_DYNAMIC kernels for batch {@code miniBatch} ({@code cudnnBuildRNNDynamic}; compiles at run time). */
        public void buildDynamic(RnnDescriptor rnn, int miniBatch) {
            cudnnBuildRNNDynamic.check(get(), rnn.get(), miniBatch);
        }

        /** {@code cudnnGetRNNWeightSpaceSize}: bytes of {@code rnn}'s weight space. */
        public long weightSpaceSize(RnnDescriptor rnn) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(JAVA_LONG);
                cudnnGetRNNWeightSpaceSize.check(get(), rnn.get(), out);
                return out.get(JAVA_LONG, 0);
            }
        }

        /** {@code cudnnGetRNNTempSpaceSizes} in inference mode: the workspace bytes for input {@code x}. */
        public long inferenceWorkspaceSize(RnnDescriptor rnn, RnnDataDescriptor x) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment work = a.allocate(JAVA_LONG), reserve = a.allocate(JAVA_LONG);
                cudnnGetRNNTempSpaceSizes.check(get(), rnn.get(), FWD_MODE_INFERENCE, x.get(), work, reserve);
                return work.get(JAVA_LONG, 0);
            }
        }

        /**
         * Where pseudo-layer {@code layer}'s matrix and bias {@code linLayerId} live in the weight space at device address
         * {@code weightSpace} ({@code cudnnGetRNNWeightParams}, then {@code cudnnGetTensorNdDescriptor} for their shapes).
         */
        public WeightParams weightParams(RnnDescriptor rnn, int layer, long weightSpace, long weightSpaceSize, int linLayerId) {
            try (TensorDescriptor m = new TensorDescriptor(); TensorDescriptor b = new TensorDescriptor(); Arena a = Arena.ofConfined()) {
                MemorySegment mAddr = a.allocate(JAVA_LONG), bAddr = a.allocate(JAVA_LONG);
                cudnnGetRNNWeightParams.check(get(), rnn.get(), layer, weightSpaceSize, weightSpace, linLayerId, m.get(), mAddr,
                        b.get(), bAddr);
                long mp = mAddr.get(JAVA_LONG, 0), bp = bAddr.get(JAVA_LONG, 0);
                return new WeightParams(mp, mp == 0 ? null : m.shape(), bp, bp == 0 ? null : b.shape());
            }
        }

        /**
         * {@code cudnnRNNForward} in inference mode on this handle's stream: {@code x} → {@code y}, {@code hx}/{@code cx}
         * → {@code hy}/{@code cy} ({@code cx}/{@code cy} 0 but for an LSTM, and {@code cDesc} then {@code hDesc}), no reserve
         * space.
         */
        public void forward(RnnDescriptor rnn, long devSeqLengths, RnnDataDescriptor xDesc, long x, RnnDataDescriptor yDesc, long y,
                            TensorDescriptor hDesc, long hx, long hy, TensorDescriptor cDesc, long cx, long cy,
                            long weightSpaceSize, long weightSpace, long workspaceSize, long workspace) {
            cudnnRNNForward.check(get(), rnn.get(), FWD_MODE_INFERENCE, devSeqLengths, xDesc.get(), x, yDesc.get(), y,
                    hDesc.get(), hx, hy, (cDesc == null ? hDesc : cDesc).get(), cx, cy, weightSpaceSize, weightSpace,
                    workspaceSize, workspace, 0L, 0L);
        }

        /** Destroys the handle; idempotent. */
        @Override
        public void close() {
            if (handle != null) {
                MemorySegment h = handle;
                handle = null;
                if (ctx != null) {
                    ctx.makeCurrent();
                }
                cudnnDestroy.check(h);
            }
        }
    }

    /**
     * Where one matrix and its bias live in a weight space, as {@link Handle#weightParams} found them.
     *
     * @param matrix      device address of the matrix, 0 where there is none (e.g. layer 0's input matrix with SKIP_INPUT)
     * @param matrixShape its dimensions and strides (elements), {@code null} where there is none
     * @param bias        device address of the bias, 0 where there is none
     * @param biasShape   its dimensions and strides, {@code null} where there is none
     */
    public record WeightParams(long matrix, Shape matrixShape, long bias, Shape biasShape) {
    }

    /**
     * A tensor descriptor's contents ({@code cudnnGetTensorNdDescriptor}).
     *
     * @param dataType cudnnDataType_t
     * @param dims     the extents, outermost first
     * @param strides  the strides in elements
     */
    public record Shape(int dataType, int[] dims, int[] strides) {
        @Override
        public String toString() {
            return java.util.Arrays.toString(dims) + " strides " + java.util.Arrays.toString(strides);
        }
    }

    /** Shared close-once logic of the descriptors. */
    private abstract static class Descriptor implements AutoCloseable {
        private MemorySegment desc;
        private final NativeFunction destroy;
        private final String what;

        Descriptor(NativeFunction creator, NativeFunction destroy, String what) {
            this.desc = create(creator);
            this.destroy = destroy;
            this.what = what;
        }

        MemorySegment get() {
            if (desc == null) {
                throw new IllegalStateException("cuDNN " + what + " descriptor used after close");
            }
            return desc;
        }

        void closeAfter(Throwable failure) {
            try {
                close();
            } catch (RuntimeException closing) {
                failure.addSuppressed(closing);
            }
        }

        @Override
        public void close() {
            if (desc != null) {
                MemorySegment d = desc;
                desc = null;
                destroy.check(d);
            }
        }
    }

    /** An RNN descriptor ({@link Handle#rnn}). */
    public final class RnnDescriptor extends Descriptor {
        RnnDescriptor() {
            super(cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor, "RNN");
        }
    }

    /** An RNN data descriptor: every sequence of the batch {@code maxSeqLength} long ({@code cudnnSetRNNDataDescriptor}). */
    public final class RnnDataDescriptor extends Descriptor {
        /**
         * @param layout one of the {@code RNN_DATA_LAYOUT_*}; with all sequences of full length the packed and unpacked
         *               sequence-major layouts are both {@code [T][B][vectorSize]} in memory
         */
        public RnnDataDescriptor(int dataType, int layout, int maxSeqLength, int batch, int vectorSize) {
            super(cudnnCreateRNNDataDescriptor, cudnnDestroyRNNDataDescriptor, "RNN data");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment lengths = a.allocate(JAVA_INT, batch);
                for (int b = 0; b < batch; b++) {
                    lengths.setAtIndex(JAVA_INT, b, maxSeqLength);
                }
                cudnnSetRNNDataDescriptor.check(get(), dataType, layout, maxSeqLength, batch, vectorSize, lengths, MemorySegment.NULL);
            } catch (RuntimeException | Error e) {
                closeAfter(e);
                throw e;
            }
        }
    }

    /** A tensor descriptor ({@code cudnnCreateTensorDescriptor}), empty or set ({@code cudnnSetTensorNdDescriptor}). */
    public final class TensorDescriptor extends Descriptor {
        TensorDescriptor() {
            super(cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor, "tensor");
        }

        /** A fully packed tensor of {@code dims}, outermost first. */
        public TensorDescriptor(int dataType, int... dims) {
            this();
            try (Arena a = Arena.ofConfined()) {
                MemorySegment d = a.allocate(JAVA_INT, dims.length), s = a.allocate(JAVA_INT, dims.length);
                int stride = 1;
                for (int i = dims.length - 1; i >= 0; i--) {
                    d.setAtIndex(JAVA_INT, i, dims[i]);
                    s.setAtIndex(JAVA_INT, i, stride);
                    stride *= dims[i];
                }
                cudnnSetTensorNdDescriptor.check(get(), dataType, dims.length, d, s);
            } catch (RuntimeException | Error e) {
                closeAfter(e);
                throw e;
            }
        }

        /** Its data type, dimensions and strides ({@code cudnnGetTensorNdDescriptor}, up to 8 dimensions). */
        Shape shape() {
            try (Arena a = Arena.ofConfined()) {
                int max = 8;
                MemorySegment type = a.allocate(JAVA_INT), nb = a.allocate(JAVA_INT);
                MemorySegment d = a.allocate(JAVA_INT, max), s = a.allocate(JAVA_INT, max);
                cudnnGetTensorNdDescriptor.check(get(), max, type, nb, d, s);
                int n = Math.min(max, nb.get(JAVA_INT, 0));
                int[] dims = new int[n], strides = new int[n];
                for (int i = 0; i < n; i++) {
                    dims[i] = d.getAtIndex(JAVA_INT, i);
                    strides[i] = s.getAtIndex(JAVA_INT, i);
                }
                return new Shape(type.get(JAVA_INT, 0), dims, strides);
            }
        }
    }
}
