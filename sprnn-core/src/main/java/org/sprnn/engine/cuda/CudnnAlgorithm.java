package org.sprnn.engine.cuda;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.Cudnn;

/**
 * cuDNN's RNN algorithms ({@code cudnnRNNAlgo_t}) as {@code cuda-cudnn} offers them ({@code --cudnn-algo}).
 *
 * <p>{@code auto} ({@link #AUTO}) tries {@link #PERSIST_STATIC_SMALL_H}, then {@link #PERSIST_STATIC}, then
 * {@link #STANDARD}, taking the first that cuDNN accepts for the shape, and records why the others were refused.
 * {@link #PERSIST_DYNAMIC} is left out of {@code auto}: it compiles its kernels at run time for every batch size
 * (seconds at the paper's largest hidden sizes) and, beyond the sizes the static kernels take, cuDNN's documentation
 * says its throughput drops (measured far behind STANDARD there: results/anchors/README.md); ask for it by name.
 */
public enum CudnnAlgorithm {
    /** {@code CUDNN_RNN_ALGO_STANDARD}: each layer a sequence of GEMMs and element-wise kernels; takes every shape. */
    STANDARD("standard", Cudnn.RNN_ALGO_STANDARD),
    /** {@code CUDNN_RNN_ALGO_PERSIST_STATIC}: a persistent kernel holding W_hh on-chip; hidden sizes up to cuDNN's limits. */
    PERSIST_STATIC("persist-static", Cudnn.RNN_ALGO_PERSIST_STATIC),
    /** {@code CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H}: the persistent kernel for small hidden sizes. */
    PERSIST_STATIC_SMALL_H("persist-static-small-h", Cudnn.RNN_ALGO_PERSIST_STATIC_SMALL_H),
    /** {@code CUDNN_RNN_ALGO_PERSIST_DYNAMIC}: persistent kernels compiled at run time for the shape and batch ({@code cudnnBuildRNNDynamic}). */
    PERSIST_DYNAMIC("persist-dynamic", Cudnn.RNN_ALGO_PERSIST_DYNAMIC);

    /** The option value that tries the persistent algorithms first and falls back to STANDARD. */
    public static final String AUTO = "auto";

    /** The option's spelling, e.g. {@code persist-static}. */
    public final String id;
    /** The cudnnRNNAlgo_t value. */
    final int code;

    CudnnAlgorithm(String id, int code) {
        this.id = id;
        this.code = code;
    }

    /** cuDNN's name, e.g. {@code CUDNN_RNN_ALGO_PERSIST_STATIC}. */
    public String cudnnName() {
        return "CUDNN_RNN_ALGO_" + name();
    }

    /** Whether this is one of the persistent algorithms (whose shape limits cuDNN documents: a refusal is expected beyond them). */
    public boolean persistent() {
        return this != STANDARD;
    }

    /** Every option value: {@code auto} and each algorithm's id. */
    public static List<String> optionValues() {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(AUTO), Arrays.stream(values()).map(a -> a.id)).toList();
    }

    /**
     * The algorithms an option value tries, in order: {@code auto} → SMALL_H, STATIC, STANDARD; a name → that one alone.
     *
     * @throws SprnnException naming {@code --cudnn-algo} and the accepted values
     */
    public static List<CudnnAlgorithm> order(String option) {
        String o = option == null ? AUTO : option.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (o.equals(AUTO)) {
            return List.of(PERSIST_STATIC_SMALL_H, PERSIST_STATIC, STANDARD);
        }
        return List.of(parse(o));
    }

    /**
     * An algorithm by its id ({@code persist-static}) or cuDNN's name ({@code CUDNN_RNN_ALGO_PERSIST_STATIC}), case-insensitively.
     *
     * @throws SprnnException naming {@code --cudnn-algo} and the accepted values
     */
    public static CudnnAlgorithm parse(String name) {
        String o = name == null ? "" : name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (o.startsWith("cudnn-rnn-algo-")) {
            o = o.substring("cudnn-rnn-algo-".length());
        }
        for (CudnnAlgorithm a : values()) {
            if (a.id.equals(o)) {
                return a;
            }
        }
        throw new SprnnException("--cudnn-algo: unknown algorithm '" + name + "': expected one of "
                + optionValues().stream().collect(Collectors.joining(", ")));
    }
}
