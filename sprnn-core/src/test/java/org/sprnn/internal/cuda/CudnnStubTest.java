package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cuDNN binding's calls against a stand-in {@code libcudnn.so.9} ({@code src/test/resources/cudnn-stub/cudnn_stub.c},
 * compiled here with the C compiler, skipped without one) whose functions have cuDNN 9's C prototypes and record what
 * they receive: every argument of every call sprnn makes arrives in its place, with its value, and a failure comes back
 * as one line with cuDNN's status and message. What a real cuDNN does with them is the GPU machine's to show.
 */
class CudnnStubTest {
    private static Arena arena;
    private static Cudnn cudnn;
    private static MethodHandle stubArgs, stubFailNext, stubSeq;

    @BeforeAll
    @SuppressWarnings("restricted")
    static void compileAndBindTheStub() throws Exception {
        Path dir = Files.createTempDirectory("sprnn-cudnn-stub");
        Path src = Path.of(CudnnStubTest.class.getResource("/cudnn-stub/cudnn_stub.c").toURI());
        Path lib = dir.resolve("libcudnn.so.9");
        boolean built;
        try {
            Process p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), src.toString()).redirectErrorStream(true).start();
            built = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            built = false;
        }
        assumeTrue(built, "no C compiler (cc) to build the stand-in libcudnn.so.9");
        arena = Arena.ofShared();
        SymbolLookup lookup = SymbolLookup.libraryLookup(lib, arena);
        cudnn = new Cudnn(lookup, lib.toString());
        Linker linker = Linker.nativeLinker();
        stubArgs = linker.downcallHandle(lookup.find("stub_args").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        stubFailNext = linker.downcallHandle(lookup.find("stub_fail_next").orElseThrow(), FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS));
        stubSeq = linker.downcallHandle(lookup.find("stub_seq").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    /** The arguments of {@code fn}'s last call, as 64-bit integers. */
    private static long[] args(String fn) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG, 32);
            int n = (int) stubArgs.invokeExact(a.allocateFrom(fn), out);
            assertThat(n).as("%s was called", fn).isPositive();
            long[] r = new long[n];
            for (int i = 0; i < n; i++) {
                r[i] = out.getAtIndex(JAVA_LONG, i);
            }
            return r;
        }
    }

    private static void failNext(String fn, int status, String message) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            stubFailNext.invokeExact(a.allocateFrom(fn), status, a.allocateFrom(message));
        }
    }

    private static Cudnn.Handle handle() {
        return cudnn.new Handle(MemorySegment.ofAddress(0x1234_5000L));
    }

    @Test
    void versionAndPath() {
        assertThat(cudnn.version()).isEqualTo("9.14.0");
        assertThat(cudnn.versionNumber()).isEqualTo(91400);
        assertThat(cudnn.path()).endsWith("libcudnn.so.9");
    }

    @Test
    void theRnnDescriptorGetsEveryArgumentInItsPlace() throws Throwable {
        Cudnn.Handle h = handle();
        try (Cudnn.RnnDescriptor d = h.rnn(Cudnn.RNN_ALGO_PERSIST_STATIC, Cudnn.LSTM, Cudnn.RNN_DOUBLE_BIAS, Cudnn.LINEAR_INPUT,
                Cudnn.DATA_HALF, Cudnn.DATA_FLOAT, Cudnn.TENSOR_OP_MATH, 48, 1152, 3, Cudnn.RNN_PADDED_IO_DISABLED)) {
            long[] a = args("cudnnSetRNNDescriptor_v8");
            assertThat(a).hasSize(15);
            assertThat(a[0]).isEqualTo(d.get().address());
            // algo, cellMode, biasMode, dirMode, inputMode, dataType, mathPrec, mathType, inputSize, hiddenSize, projSize, numLayers
            assertThat(java.util.Arrays.copyOfRange(a, 1, 13)).containsExactly(1, 2, 2, 0, 0, 2, 0, 1, 48, 1152, 1152, 3);
            assertThat(a[13]).as("no dropout descriptor").isZero();
            assertThat(a[14]).as("auxFlags").isZero();
            h.buildDynamic(d, 4);
            assertThat(args("cudnnBuildRNNDynamic")).containsExactly(0x1234_5000L, d.get().address(), 4);
            assertThat(h.weightSpaceSize(d)).isEqualTo(123456);
        }
        assertThat(args("cudnnDestroyRNNDescriptor")).hasSize(1);
    }

    @Test
    void dataAndTensorDescriptors() throws Throwable {
        try (Cudnn.RnnDataDescriptor x = cudnn.new RnnDataDescriptor(Cudnn.DATA_FLOAT, Cudnn.RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, 256, 4, 1152)) {
            long[] a = args("cudnnSetRNNDataDescriptor");
            assertThat(a[0]).isEqualTo(x.get().address());
            assertThat(java.util.Arrays.copyOfRange(a, 1, 6)).containsExactly(0, 1, 256, 4, 1152);
            assertThat(a[7]).as("no padding fill").isZero();
            for (int b = 0; b < 4; b++) {
                assertThat((int) stubSeq.invokeExact(b)).as("sequence %d is T long", b).isEqualTo(256);
            }
            Cudnn.Handle h = handle();
            try (Cudnn.RnnDescriptor d = h.rnn(0, 0, 2, 0, 0, 0, 3, 1152, 1152, 1, 0)) {
                assertThat(h.inferenceWorkspaceSize(d, x)).isEqualTo(777);
                long[] t = args("cudnnGetRNNTempSpaceSizes");
                assertThat(t[1]).isEqualTo(d.get().address());
                assertThat(t[2]).as("CUDNN_FWD_MODE_INFERENCE").isZero();
                assertThat(t[3]).isEqualTo(x.get().address());
            }
        }
        try (Cudnn.TensorDescriptor t = cudnn.new TensorDescriptor(Cudnn.DATA_HALF, 3, 4, 1152)) {
            Cudnn.Shape s = t.shape();
            assertThat(s.dataType()).isEqualTo(Cudnn.DATA_HALF);
            assertThat(s.dims()).containsExactly(3, 4, 1152);
            assertThat(s.strides()).as("fully packed").containsExactly(4 * 1152, 1152, 1);
        }
    }

    @Test
    void weightParamsComeBackAsAddressesAndShapes() throws Throwable {
        Cudnn.Handle h = handle();
        try (Cudnn.RnnDescriptor d = h.rnn(0, 3, 2, 0, 2, 0, 1, 3, 5, 2, 0)) {
            long space = 0x7000_0000L;
            Cudnn.WeightParams p = h.weightParams(d, 1, space, 9999, 4);
            long[] a = args("cudnnGetRNNWeightParams");
            assertThat(a[1]).isEqualTo(d.get().address());
            assertThat(a[2]).as("pseudoLayer").isEqualTo(1);
            assertThat(a[3]).as("weightSpaceSize").isEqualTo(9999);
            assertThat(a[4]).as("weightSpace").isEqualTo(space);
            assertThat(a[5]).as("linLayerID").isEqualTo(4);
            assertThat(p.matrix()).isEqualTo(space + 4000 + 100000);
            assertThat(p.bias()).isEqualTo(space + 4500 + 100000);
            assertThat(p.matrixShape().dims()).containsExactly(1, 5, 3);
            assertThat(p.matrixShape().strides()).containsExactly(15, 3, 1);
            assertThat(p.matrixShape().dataType()).isEqualTo(Cudnn.DATA_HALF);
            assertThat(p.biasShape().dims()).containsExactly(1, 5, 1);
            Cudnn.WeightParams none = h.weightParams(d, 0, space, 9999, 0);
            assertThat(none.matrix()).as("no matrix (SKIP_INPUT)").isZero();
            assertThat(none.matrixShape()).isNull();
            assertThat(none.bias()).isEqualTo(space + 500);
        }
    }

    @Test
    void theForwardGetsItsTwentyArgumentsInOrder() throws Throwable {
        Cudnn.Handle h = handle();
        try (Cudnn.RnnDescriptor d = h.rnn(0, 2, 2, 0, 0, 0, 3, 8, 16, 2, 0);
             Cudnn.RnnDataDescriptor x = cudnn.new RnnDataDescriptor(0, 1, 5, 3, 8);
             Cudnn.RnnDataDescriptor y = cudnn.new RnnDataDescriptor(0, 1, 5, 3, 16);
             Cudnn.TensorDescriptor hd = cudnn.new TensorDescriptor(0, 2, 3, 16);
             Cudnn.TensorDescriptor cd = cudnn.new TensorDescriptor(0, 2, 3, 16)) {
            h.forward(d, 101, x, 102, y, 103, hd, 104, 105, cd, 106, 107, 108, 109, 110, 111);
            long[] a = args("cudnnRNNForward");
            assertThat(a).hasSize(20).containsExactly(0x1234_5000L, d.get().address(), 0, 101, x.get().address(), 102, y.get().address(), 103,
                    hd.get().address(), 104, 105, cd.get().address(), 106, 107, 108, 109, 110, 111, 0, 0);
            h.forward(d, 101, x, 102, y, 103, hd, 104, 105, null, 0, 0, 108, 109, 0, 0);
            assertThat(args("cudnnRNNForward")[11]).as("cDesc: hDesc where there is no c").isEqualTo(hd.get().address());
        }
    }

    @Test
    void aFailureIsOneLineWithCudnnsStatusAndMessage() throws Throwable {
        Cudnn.Handle h = handle();
        try (Cudnn.RnnDescriptor d = h.rnn(0, 0, 2, 0, 0, 0, 3, 8, 8, 1, 0);
             Cudnn.RnnDataDescriptor x = cudnn.new RnnDataDescriptor(0, 1, 5, 3, 8);
             Cudnn.TensorDescriptor hd = cudnn.new TensorDescriptor(0, 1, 3, 8)) {
            failNext("cudnnRNNForward", 3000, "CUDNN_BACKEND_API_FAILED; EXECUTE:\n  hiddenSize 8 not supported by persistent kernels");
            assertThatThrownBy(() -> h.forward(d, 1, x, 2, x, 3, hd, 4, 5, null, 0, 0, 6, 7, 0, 0))
                    .isInstanceOf(CudaException.class)
                    .hasMessage("cudnnRNNForward failed: CUDNN_STATUS_NOT_SUPPORTED (3000): CUDNN_BACKEND_API_FAILED; EXECUTE: hiddenSize 8 "
                            + "not supported by persistent kernels")
                    .satisfies(e -> assertThat(((CudaException) e).code()).isEqualTo(3000));
            failNext("cudnnSetRNNDescriptor_v8", 2000, "");
            assertThatThrownBy(() -> h.rnn(9, 0, 2, 0, 0, 0, 3, 8, 8, 1, 0)).isInstanceOf(CudaException.class)
                    .hasMessageStartingWith("cudnnSetRNNDescriptor_v8 failed: CUDNN_STATUS_BAD_PARAM (2000): cuDNN gave no message");
            assertThat(args("cudnnDestroyRNNDescriptor")).as("the refused descriptor is destroyed").hasSize(1);
        }
    }

    @Test
    void handlesAndDescriptorsCloseOnceAndRefuseUseAfterClose() throws Throwable {
        Cudnn.Handle h = handle();
        Cudnn.TensorDescriptor t = cudnn.new TensorDescriptor(0, 1, 1, 1);
        t.close();
        t.close();
        assertThatThrownBy(t::shape).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
        assertThatThrownBy(() -> h.setStream(null)).isInstanceOf(NullPointerException.class);
    }
}
