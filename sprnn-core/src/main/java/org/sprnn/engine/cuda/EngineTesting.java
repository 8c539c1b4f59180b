package org.sprnn.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.engine.EngineOptions;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/**
 * The GPU engines' test-support surface: the one door through which {@code org.sprnn.check} (the
 * {@code selftest} and {@code kernel-check} harness) and the tests reach what an engine does not offer its users:
 * kernel variants that stall a CTA or run fewer steps per launch, plans made elsewhere, the kernels an engine
 * will compile (to compile them ahead, in parallel), and the engines' own rounding of a precision.
 *
 * <p>Not for users: nothing here is needed to run a model, the methods may change with the checks, and a
 * variant's engine computes something other than the layer (a stalled kernel faults on purpose). Every method
 * forwards to the engine that owns the behaviour; none adds any.
 */
public final class EngineTesting {
    private EngineTesting() {
    }

    /**
     * A kernel as an engine compiles it: the {@code .cu} resource, the specialised name (which keys the cubin cache)
     * and the defines, in the engine's order.
     */
    public record KernelBuild(String source, String name, Map<String, String> defines) {
        /** Keeps the defines' order, read-only. */
        public KernelBuild {
            defines = Collections.unmodifiableMap(defines);
        }
    }

    // cuda-sparse-persistent

    /** A {@code cuda-sparse-persistent} engine of {@code variant} (see {@link SparsePersistentEngine.Variant}). */
    public static SparsePersistentEngine sparsePersistent(RnnModel model, DeviceLimits limits, PlanOptions options,
                                                          SparsePersistentEngine.Variant variant) {
        return new SparsePersistentEngine(model, limits, options, variant);
    }

    /**
     * Makes {@code engine} use {@code plans} (one per layer, made by {@link Plan#of} for its model, options and limits,
     * e.g. in parallel by a check) for {@code batch} instead of planning again.
     */
    public static void usePlans(SparsePersistentEngine engine, int batch, List<Plan> plans) {
        engine.usePlans(batch, plans);
    }

    /** Input projection plans {@code engine} has built so far: one per layer and distinct T*B run. */
    public static int projectionPlans(SparsePersistentEngine engine) {
        return engine.projectionPlans();
    }

    /** The engine's refusal of layer {@code layer} under plan {@code p}, which does not fit: the capacity numbers. */
    public static String refusal(int layer, Plan p, int batch) {
        return SparsePersistentEngine.refusal(layer, p, batch);
    }

    /** The kernel an engine of {@code variant} compiles for {@code spec} (compile it for {@code "sm_" + spec.smArch()}). */
    public static KernelBuild sparsePersistentKernel(KernelSpec spec, SparsePersistentEngine.Variant variant) {
        return new KernelBuild(SparsePersistentEngine.SOURCE, variant.kernelName(spec), variant.defines(spec));
    }

    // cuda-gemm and cuda-spmm

    /**
     * The cell-update kernels a {@link CudaRnnEngine} of {@code kind} and {@code precision} may compile for a model of
     * {@code cell} and {@code hidden} run at {@code batch}: none for a ReLU GEMM engine (fused into the GEMM's
     * epilogue), the fp32-product one, and for a 16-bit SpMM engine also the one taking its product in that precision.
     */
    public static List<KernelBuild> cellUpdateKernels(CellType cell, int hidden, int batch, CudaRnnEngine.Kind kind, Precision precision) {
        boolean spmm = kind == CudaRnnEngine.Kind.SPMM;
        Precision el = EngineOptions.checkPrecision(precision);
        List<CellUpdateSpec> specs = new ArrayList<>();
        if (spmm || cell != CellType.RNN_RELU) {
            specs.add(new CellUpdateSpec(cell, hidden, batch, spmm, Precision.FP32, el, el != Precision.FP32, spmm));
            if (spmm && el != Precision.FP32) { // the SpMM may deliver its product in el
                specs.add(new CellUpdateSpec(cell, hidden, batch, true, el, el, true, true));
            }
        }
        return specs.stream().map(s -> new KernelBuild(CellUpdateSpec.SOURCE, s.kernelName(), s.defines())).toList();
    }

    // precisions as the GPU engines store them

    /**
     * {@code values}, each stored as the GPU engines store a {@code precision} operand and read back (a new array).
     *
     * @throws org.sprnn.SprnnException naming {@code --precision} if no GPU engine computes in {@code precision}
     */
    public static double[] rounded(Precision precision, double[] values) {
        Precision t = EngineOptions.checkPrecision(precision);
        double[] d = values.clone();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(4, 4);
            for (int i = 0; i < d.length; i++) {
                CudaPrecision.put(t, one, 0, d[i]);
                d[i] = CudaPrecision.get(t, one, 0);
            }
        }
        return d;
    }
}
