package org.sprnn.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.check.SelfTestReference.ModelCase;
import org.sprnn.check.SelfTestReference.Shape;
import org.sprnn.engine.cuda.CudnnAlgorithm;
import org.sprnn.model.CellType;

/** The cuda-cudnn part of {@code sprnn selftest}, without a GPU: which cases it runs, and that the matrix has their references. */
class CudnnSelfTestTest {

    @Test
    void everyPersistentAlgorithmAndAutoRunOnEveryCell() {
        assertThat(CudnnSelfTest.algorithms()).containsExactly("persist-static", "persist-static-small-h", "persist-dynamic", "auto");
        List<ModelCase> ms = CudnnSelfTest.models(List.of(33, 256, 1152));
        for (CellType c : CellType.values()) {
            assertThat(ms).contains(new ModelCase(c, 33, 0.3, 1, true), new ModelCase(c, 256, 0.3, 3, false));
        }
        // PERSIST_DYNAMIC compiles at run time: small layers only
        assertThat(CudnnSelfTest.runs(CudnnAlgorithm.PERSIST_DYNAMIC.id, new ModelCase(CellType.LSTM, 1152, 0.3, 1, true))).isFalse();
        assertThat(CudnnSelfTest.runs(CudnnAlgorithm.PERSIST_DYNAMIC.id, new ModelCase(CellType.LSTM, 256, 0.3, 1, true))).isTrue();
        assertThat(CudnnSelfTest.runs(CudnnAlgorithm.PERSIST_STATIC.id, new ModelCase(CellType.LSTM, 1152, 0.3, 1, true))).isTrue();
    }

    /** The slice reuses the matrix's references: each of its cases must be one of the matrix's (GpuSelfTest.runMatrix). */
    @Test
    void theSliceRunsOnlyCasesTheMatrixHasReferencesFor() {
        for (boolean quick : new boolean[] {true, false}) {
            List<Integer> hiddens = quick ? List.of(33, 256) : List.of(33, 256, 1152);
            List<Integer> batches = quick ? List.of(1, 4) : List.of(1, 4, 8);
            List<Integer> steps = quick ? List.of(50) : List.of(1, 50);
            Set<String> matrix = new HashSet<>();
            for (CellType c : CellType.values()) {
                for (int h : hiddens) {
                    for (double d : List.of(0.01, 0.3, 1.0)) {
                        for (int b : batches) {
                            for (int t : steps) {
                                matrix.add(new ModelCase(c, h, d, 1, true) + "|" + new Shape(b, t));
                            }
                        }
                    }
                }
                matrix.add(new ModelCase(c, 256, 0.3, 3, false) + "|" + new Shape(4, 50));
            }
            for (ModelCase m : CudnnSelfTest.models(hiddens)) {
                for (Shape s : CudnnSelfTest.shapes(m)) {
                    assertThat(matrix).as("quick %s", quick).contains(m + "|" + s);
                }
            }
        }
    }

    @Test
    void theSelftestTakesCudnnAndNamesTheEnginesItTakes() {
        assertThat(new GpuSelfTest.Options(List.of("cuda-gemm", "cuda-cudnn"), List.of(Precision.FP16), true, 1).engines())
                .containsExactly("cuda-gemm", "cuda-cudnn");
        assertThatThrownBy(() -> new GpuSelfTest.Options(List.of("cudnn"), List.of(Precision.FP16), true, 1)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("cuda-cudnn");
    }
}
