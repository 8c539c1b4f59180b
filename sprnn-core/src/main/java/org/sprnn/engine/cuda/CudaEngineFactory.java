package org.sprnn.engine.cuda;

import java.util.Optional;
import org.sprnn.Precision;
import org.sprnn.engine.CostModel;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.StepCost;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;

/**
 * Makes {@code cuda-gemm} or {@code cuda-spmm} ({@link CudaRnnEngine}) and says why it cannot: no
 * driver, no device, too old a device, or a library missing (from {@link CudaEnvironment}, probed once
 * and never throwing).
 *
 * <p>Ranks for {@code auto} (lower wins; {@code cpu} is 500, ranks 100–199 are kept for the sparse
 * persistent engine): both GPU baselines beat the CPU. Between them, the H100 figures (results/gpu/README.md, "Speed",
 * beside the anchors') show the dense GEMM ahead at 30% density and cuSPARSE ahead only for large, very sparse
 * layers; so {@code cuda-spmm} ranks first only at W_hh density ≤ 5% with hidden ≥ 2048.
 */
public final class CudaEngineFactory implements EngineFactory {
    static final double SPMM_MAX_DENSITY = 0.05;
    static final int SPMM_MIN_HIDDEN = 2048;

    private final CudaRnnEngine.Kind kind;

    public CudaEngineFactory(CudaRnnEngine.Kind kind) {
        this.kind = kind;
    }

    @Override
    public String name() {
        return kind.engineName;
    }

    @Override
    public String description() {
        return kind == CudaRnnEngine.Kind.GEMM
                ? "GPU baseline: cuBLASLt GEMM per step (fp16/bf16/fp32 weights, fp32 accumulate) + fused cell update, one CUDA graph per sequence"
                : "GPU baseline: cuSPARSE SpMM on CSR weights per step + fused cell update, one CUDA graph per sequence";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        boolean sparseWins = density(model) <= SPMM_MAX_DENSITY && model.hiddenSize() >= SPMM_MIN_HIDDEN;
        if (kind == CudaRnnEngine.Kind.GEMM) {
            return sparseWins ? 320 : 300;
        }
        return sparseWins ? 300 : 320;
    }

    /** Fraction of nonzeros over every layer's W_hh (both directions of a bidirectional model). */
    static double density(RnnModel model) {
        long nz = 0, all = 0;
        for (int k = 0; k < model.numLayers(); k++) {
            for (int d = 0; d < model.directions(); d++) {
                Layer l = model.layer(k, d);
                nz += l.wHh().countNonZero();
                all += l.wHh().size();
            }
        }
        return all == 0 ? 0 : (double) nz / all;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        CudaEnvironment env = CudaEnvironment.get();
        String p = env.problem(kind == CudaRnnEngine.Kind.SPMM);
        if (p != null) {
            return Optional.of(p);
        }
        if (options.precision() == Precision.BF16 && env.device().computeMajor() < 8) {
            return Optional.of("--precision bf16 needs compute capability 8.0 or newer; " + env.device().name() + " has "
                    + env.device().computeMajor() + "." + env.device().computeMinor());
        }
        return Optional.empty();
    }

    @Override
    public Optional<StepCost> predict(RnnModel model, EngineOptions options) {
        return Optional.of(kind == CudaRnnEngine.Kind.GEMM ? CostModel.gemm(model, options.batchHint(), options.precision())
                : CostModel.spmm(model, options.batchHint()));
    }

    /**
     * Lengths and bidirectional models ({@link org.sprnn.engine.ComposedFeatures}: a bidirectional model runs as one
     * engine per layer and direction; lengths as one run per distinct length, {@link org.sprnn.engine.LengthSegments}).
     */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return org.sprnn.engine.ComposedFeatures.FACTORY_FEATURES;
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return org.sprnn.engine.ComposedFeatures.create(name(), model, layer -> new CudaRnnEngine(layer, kind, options.precision()));
    }
}
