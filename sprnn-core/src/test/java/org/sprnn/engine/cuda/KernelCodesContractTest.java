package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.sprnn.internal.cuda.CudaDriver;
import org.sprnn.model.CellType;

/**
 * Holds the numbers Java and the kernels share together, read from the kernel sources: the fault codes
 * ({@code SPRNN_FAULT_*} in {@code sparse_persistent_rnn.cuh}) against {@link KernelFault}, the cell codes
 * ({@code SPRNN_CELL} of {@code sparse_persistent_rnn.cu}, {@code CELL} of {@code rnn_cell_update.cu}) against
 * {@link CellType#kernelCode()}, and, where the CUDA headers are installed, the CUresult codes that mean a lost
 * context against {@code cuda.h}.
 */
class KernelCodesContractTest {
    private static final Path KERNELS = Path.of("src/main/resources/org/sprnn/kernels");

    @Test
    void faultCodesAreTheHeaders() throws Exception {
        String header = Files.readString(KERNELS.resolve("sparse_persistent_rnn.cuh"));
        Map<String, Integer> defines = new HashMap<>();
        Matcher m = Pattern.compile("(?m)^#define (SPRNN_FAULT_\\w+) (\\d+)").matcher(header);
        while (m.find()) {
            defines.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        assertThat(defines).as("SPRNN_FAULT_* in sparse_persistent_rnn.cuh").containsEntry("SPRNN_FAULT_NONE", KernelFault.NONE);
        for (KernelFault f : KernelFault.values()) {
            assertThat(defines).as("%s in the header", f).containsEntry(f.define(), f.code());
        }
        assertThat(defines.keySet()).as("every header fault has a KernelFault")
                .containsExactlyInAnyOrderElementsOf(java.util.stream.Stream.concat(java.util.stream.Stream.of("SPRNN_FAULT_NONE"),
                        Arrays.stream(KernelFault.values()).map(KernelFault::define)).toList());
        // the fault record is int32 [4]: kind, CTA, step, detail
        assertThat(header).contains("fault[3]");
    }

    @Test
    void faultRecordsDecodeToTheirMessages() {
        assertThat(KernelFault.exception(new int[] {0, 0, 0, 0}, "e", 0, 0, 1_000_000_000L)).isNull();
        assertThat(KernelFault.exception(new int[] {1, 7, 3, 42}, "e", 2, 256, 1_500_000_000L))
                .hasMessage("e: layer 2: kernel gave up at step 259 in CTA 7: a timestamped h value (column 42) did not arrive within 1.5 s");
        assertThat(KernelFault.exception(new int[] {5, 1, 0, -1}, "e", 0, 0, 1_000_000_000L)).hasMessageEndingWith("exit barrier within 2 s");
        assertThat(KernelFault.exception(new int[] {9, 1, 0, 0}, "e", 0, 0, 1_000_000_000L)).hasMessageContaining("fault kind 9 within 1 s");
    }

    @Test
    void cellCodesAreTheKernels() throws Exception {
        String persistent = Files.readString(KERNELS.resolve("sparse_persistent_rnn.cu"));
        Matcher m = Pattern.compile("SPRNN_CELL 0 (\\w+) 1 (\\w+) 2 (\\w+) 3 (\\w+);").matcher(persistent);
        assertThat(m.find()).as("the SPRNN_CELL line of sparse_persistent_rnn.cu's define list").isTrue();
        for (int code = 0; code < 4; code++) {
            CellType cell = byKernelCode(code);
            assertThat(cell.id()).as("SPRNN_CELL %d", code).endsWith(m.group(code + 1));
        }
        // G: 3 rows a unit for SPRNN_CELL 2, 4 for 3, else 1
        assertThat(persistent).contains("#define G (SPRNN_CELL == " + CellType.GRU.kernelCode() + " ? " + CellType.GRU.gates()
                + " : (SPRNN_CELL == " + CellType.LSTM.kernelCode() + " ? " + CellType.LSTM.gates() + " : 1))");

        String update = Files.readString(KERNELS.resolve("rnn_cell_update.cu"));
        Matcher u = Pattern.compile("CELL 0\\.\\.3 \\(([\\w, ]+)\\)").matcher(update);
        assertThat(u.find()).as("the CELL line of rnn_cell_update.cu's variant index").isTrue();
        List<String> ids = Arrays.stream(u.group(1).split(",")).map(String::trim).toList();
        for (CellType c : CellType.values()) {
            assertThat(ids.get(c.kernelCode())).as("CELL %d of rnn_cell_update.cu", c.kernelCode()).isEqualTo(c.id());
        }
    }

    @Test
    void contextLostCodesAreCudaHs() throws Exception {
        Path cudaH = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"), "include", "cuda.h");
        assumeTrue(Files.isReadable(cudaH), cudaH + " not found: CUresult codes not checked against the CUDA headers");
        String h = Files.readString(cudaH);
        assertThat(code(h, "CUDA_ERROR_ILLEGAL_ADDRESS")).isEqualTo(CudaDriver.ERROR_ILLEGAL_ADDRESS);
        assertThat(code(h, "CUDA_ERROR_LAUNCH_TIMEOUT")).isEqualTo(CudaDriver.ERROR_LAUNCH_TIMEOUT);
        assertThat(code(h, "CUDA_ERROR_HARDWARE_STACK_ERROR")).isEqualTo(CudaDriver.ERROR_HARDWARE_STACK_ERROR);
        assertThat(code(h, "CUDA_ERROR_LAUNCH_FAILED")).isEqualTo(CudaDriver.ERROR_LAUNCH_FAILED);
        assertThat(code(h, "CUDA_ERROR_ILLEGAL_INSTRUCTION")).isBetween(CudaDriver.ERROR_HARDWARE_STACK_ERROR, CudaDriver.ERROR_LAUNCH_FAILED);
        assertThat(code(h, "CUDA_ERROR_MISALIGNED_ADDRESS")).isBetween(CudaDriver.ERROR_HARDWARE_STACK_ERROR, CudaDriver.ERROR_LAUNCH_FAILED);
    }

    private static int code(String cudaH, String name) {
        Matcher m = Pattern.compile(name + "\\s*=\\s*(\\d+)").matcher(cudaH);
        assertThat(m.find()).as(name + " in cuda.h").isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static CellType byKernelCode(int code) {
        return Arrays.stream(CellType.values()).filter(c -> c.kernelCode() == code).findFirst().orElseThrow();
    }
}
