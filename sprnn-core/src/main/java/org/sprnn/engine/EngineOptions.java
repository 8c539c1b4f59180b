package org.sprnn.engine;

import java.util.List;
import java.util.Locale;
import org.sprnn.Precision;
import org.sprnn.SprnnException;

/**
 * How to build an engine. Immutable; make one with {@link #builder()}.
 *
 * @param engine    engine name, or {@code auto} for the fastest feasible one
 * @param threads   CPU threads for the {@code cpu} engine (≥ 1)
 * @param precision weight precision on the GPU: fp16 (default), bf16 or fp32 ({@link #PRECISIONS})
 * @param batchHint  expected batch size, used by {@code auto} to judge which engines fit (≥ 1)
 * @param batchFirst PyTorch's {@code batch_first=True}: the engine that {@link EngineProvider#select}
 *                   returns takes inputs {@code [B][T][I]} and returns outputs {@code [B][T][H]}
 *                   (a {@link BatchFirstEngine}); initial and final states stay {@code [L][B][H]}, as in
 *                   PyTorch. Default false: sequence-first {@code [T][B][I]}. Factories called directly
 *                   ({@link EngineFactory#create}) always build sequence-first engines.
 * @param cudnnAlgo  the algorithm of {@code cuda-cudnn} ({@code --cudnn-algo}): {@code auto} (default: the persistent
 *                   algorithms first, STANDARD where cuDNN refuses them) or one of {@link #CUDNN_ALGORITHMS}; other
 *                   engines ignore it
 * @param required   what the runs will need beyond equal-length batches ({@link EngineFeature}, e.g. lengths): an
 *                   engine without one of them is not available ({@link EngineProvider#unavailableReason}), so
 *                   {@code auto} takes one that has them; empty by default
 */
public record EngineOptions(String engine, int threads, Precision precision, int batchHint, boolean batchFirst, String cudnnAlgo,
                            java.util.Set<EngineFeature> required) {
    /** The precisions a GPU engine computes in, as messages list them: fp16, bf16, fp32. */
    public static final List<Precision> PRECISIONS = List.of(Precision.FP16, Precision.BF16, Precision.FP32);

    /** The values of {@link #cudnnAlgo()}: {@code auto} and cuDNN's four RNN algorithms. */
    public static final List<String> CUDNN_ALGORITHMS =
            List.of("auto", "standard", "persist-static", "persist-static-small-h", "persist-dynamic");

    /**
     * Validates every option and normalises {@code cudnnAlgo} ({@code null} gives {@code auto}).
     *
     * @throws SprnnException naming the option ({@code --engine}, {@code --threads}, {@code --precision},
     *                        {@code --batch}, {@code --cudnn-algo}) and the value refused
     */
    public EngineOptions {
        if (engine == null || engine.isBlank()) {
            throw new SprnnException("--engine: empty engine name");
        }
        if (threads < 1) {
            throw new SprnnException("--threads: must be >= 1, got " + threads);
        }
        checkPrecision(precision);
        if (batchHint < 1) {
            throw new SprnnException("--batch: must be >= 1, got " + batchHint);
        }
        cudnnAlgo = cudnnAlgo == null ? "auto" : cudnnAlgo.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (!CUDNN_ALGORITHMS.contains(cudnnAlgo)) {
            throw new SprnnException("--cudnn-algo: expected one of " + String.join(", ", CUDNN_ALGORITHMS) + ", got '" + cudnnAlgo + "'");
        }
        required = required == null ? java.util.Set.of() : java.util.Set.copyOf(required);
    }

    /**
     * Options without a cuDNN algorithm ({@code auto}) or required features.
     *
     * @param engine engine name or {@code auto}
     * @param threads CPU threads (≥ 1)
     * @param precision GPU weight precision, one of {@link #PRECISIONS}
     * @param batchHint expected batch size (≥ 1)
     * @param batchFirst whether runs take and return batch-first tensors
     */
    public EngineOptions(String engine, int threads, Precision precision, int batchHint, boolean batchFirst) {
        this(engine, threads, precision, batchHint, batchFirst, "auto");
    }

    /**
     * Options without required features.
     *
     * @param engine engine name or {@code auto}
     * @param threads CPU threads (≥ 1)
     * @param precision GPU weight precision, one of {@link #PRECISIONS}
     * @param batchHint expected batch size (≥ 1)
     * @param batchFirst whether runs take and return batch-first tensors
     * @param cudnnAlgo the {@code cuda-cudnn} algorithm, one of {@link #CUDNN_ALGORITHMS}; {@code null} for {@code auto}
     */
    public EngineOptions(String engine, int threads, Precision precision, int batchHint, boolean batchFirst, String cudnnAlgo) {
        this(engine, threads, precision, batchHint, batchFirst, cudnnAlgo, java.util.Set.of());
    }

    /**
     * Checks that a GPU engine computes in {@code precision} (one of {@link #PRECISIONS}).
     *
     * @param precision the precision asked for
     * @return {@code precision}
     * @throws SprnnException naming {@code --precision} otherwise
     */
    public static Precision checkPrecision(Precision precision) {
        if (precision == null || !PRECISIONS.contains(precision)) { // List.of's contains throws on null
            throw new SprnnException("--precision: expected " + Precision.idsText(PRECISIONS) + ", got '"
                    + (precision == null ? null : precision.id()) + "'");
        }
        return precision;
    }

    /**
     * Defaults: {@code auto}, all available processors, fp16, batch 1, sequence-first.
     *
     * @return a builder holding the defaults
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link EngineOptions}. */
    public static final class Builder {
        private String engine = "auto";
        private int threads = Runtime.getRuntime().availableProcessors();
        private Precision precision = Precision.FP16;
        private int batchHint = 1;
        private boolean batchFirst;
        private String cudnnAlgo = "auto";
        private final java.util.Set<EngineFeature> required = java.util.EnumSet.noneOf(EngineFeature.class);

        private Builder() {
        }

        /**
         * Features the runs will need (e.g. {@link EngineFeature#LENGTHS}): engines without them are not available.
         *
         * @param features the features
         * @return this builder
         */
        public Builder require(EngineFeature... features) {
            required.addAll(java.util.List.of(features));
            return this;
        }

        /**
         * Engine name or {@code auto}.
         *
         * @param engine the name, as {@link EngineProvider#factories()} list them, or {@code auto}
         * @return this builder
         */
        public Builder engine(String engine) {
            this.engine = engine;
            return this;
        }

        /**
         * CPU threads.
         *
         * @param threads the number of threads, the caller's included (≥ 1)
         * @return this builder
         */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /**
         * GPU weight precision: fp16, bf16 or fp32.
         *
         * @param precision one of {@link EngineOptions#PRECISIONS}
         * @return this builder
         */
        public Builder precision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /**
         * Expected batch size.
         *
         * @param batchHint the batch size runs will have (≥ 1)
         * @return this builder
         */
        public Builder batchHint(int batchHint) {
            this.batchHint = batchHint;
            return this;
        }

        /**
         * Whether runs take {@code [B][T][I]} and return {@code [B][T][H]} (PyTorch's
         * {@code batch_first=True}) instead of {@code [T][B][I]} / {@code [T][B][H]}; states are
         * {@code [L][B][H]} either way.
         *
         * @param batchFirst {@code true} for batch-first inputs and outputs
         * @return this builder
         */
        public Builder batchFirst(boolean batchFirst) {
            this.batchFirst = batchFirst;
            return this;
        }

        /**
         * The algorithm of {@code cuda-cudnn}: {@code auto} or one of {@link EngineOptions#CUDNN_ALGORITHMS}.
         *
         * @param cudnnAlgo the algorithm ({@code _} accepted for {@code -}, case ignored)
         * @return this builder
         */
        public Builder cudnnAlgo(String cudnnAlgo) {
            this.cudnnAlgo = cudnnAlgo;
            return this;
        }

        /**
         * The options, validated.
         *
         * @return the options
         * @throws SprnnException naming the option whose value is refused
         */
        public EngineOptions build() {
            return new EngineOptions(engine, threads, precision, batchHint, batchFirst, cudnnAlgo, required);
        }
    }
}
