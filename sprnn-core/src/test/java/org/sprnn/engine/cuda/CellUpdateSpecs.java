package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.model.CellType;

/** Test access to the engines' cell-update specialisations, so the nvcc check compiles exactly those defines. */
public final class CellUpdateSpecs {
    private CellUpdateSpecs() {
    }

    /** One specialisation per cell for the GEMM layout (fp16) and the SpMM layout (bf16 product). */
    public static List<Map<String, String>> samples() {
        List<Map<String, String>> out = new ArrayList<>();
        for (CellType c : CellType.values()) {
            out.add(new CellUpdateSpec(c, 1152, 4, false, Precision.FP32, Precision.FP16, true, false).defines());
            out.add(new CellUpdateSpec(c, 33, 8, true, Precision.BF16, Precision.BF16, true, true).defines());
        }
        return out;
    }
}
