package org.sprnn.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sprnn plan}: how the sparse persistent kernel would lay out each layer of a model (or of a
 * synthetic layer) on this GPU — partition, registers per thread, shared memory per CTA — and whether
 * it fits on-chip, and why.
 */
@Command(name = "plan",
        description = {"Show how cuda-sparse-persistent lays out each layer's W_hh on the GPU: CTAs and warps, registers "
                + "per thread, shared memory per CTA, bank conflicts, and whether it fits on-chip and why.",
            "With --engine cuda-dense-persistent, the dense mode (W_hh whole, two 16-bit weights a word) and its capacity: "
                + "the largest hidden size on-chip for the cell at the batch, and why one more is refused.",
            "Uses this machine's GPU; without one, plans for an H100 SXM (132 SMs) and says so."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn plan --model lstm.safetensors --batch 4",
            "  sprnn plan --hidden 1152 --density 0.1 --batch 4",
            "  sprnn plan --hidden 5760 --density 0.1 --batch 4 --cell rnn_relu --exchange timestamps",
            "  sprnn plan --hidden 300 --density 0.1 --batch 3 --split-weights",
            "  sprnn plan --engine cuda-dense-persistent --hidden 1152 --cell lstm --batch 4"})
final class PlanCommand extends SprnnCommand {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--model", description = "Model file (.safetensors or .npz).")
        Path model;

        @Option(names = "--hidden", description = "Plan a synthetic layer of this hidden size (with --density).")
        Integer hidden;
    }

    @Option(names = "--density", defaultValue = "0.1", description = "Density of the synthetic layer's W_hh (default: ${DEFAULT-VALUE}).")
    double density;

    @Option(names = "--cell", description = "Cell: rnn_relu, rnn_tanh, gru, lstm (synthetic default rnn_relu; for a model, if the file does not say).")
    String cell;

    @Option(names = "--module", paramLabel = "NAME", description = "read only the RNN of this submodule of the model file (PyTorch's "
            + "name: rnn, encoder.rnn), ignoring its other tensors")
    String modelModule;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size, 1 to 32 (the persistent kernels' range) (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--exchange", defaultValue = "auto", description = "Exchange of h_t: auto, cluster, timestamps, barrier (default: ${DEFAULT-VALUE}).")
    String exchange;

    @Option(names = "--precision", defaultValue = "fp16", description = "Weight encoding: fp16 or bf16 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--engine", defaultValue = "cuda-sparse-persistent", description = "cuda-sparse-persistent or "
            + "cuda-dense-persistent (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--naive", description = "Plan the ablation's naive kernel: scalar loads, natural order, naive split.")
    boolean naive;

    @Option(names = "--split-weights", description = "Pack each nonzero as two 16-bit words (its rounding and the residual's): "
            + "weights within 2^-22 relative instead of 2^-11 for fp16, at twice the words per row.")
    boolean splitWeights;

    @Override
    public Integer call() {
        Options.positive("--batch", batch);
        if (batch > org.sprnn.plan.KernelSpec.MAX_BATCH) { // said before any model is built
            throw new SprnnException("--batch " + batch + ": the persistent kernels take batches of 1 to " + org.sprnn.plan.KernelSpec.MAX_BATCH);
        }
        Options.density("--density", density);
        ExchangeMode mode = switch (exchange.toLowerCase(Locale.ROOT)) {
            // auto: the engine's (SPRNN_EXCHANGE / -Dsprnn.exchange, else the planner's choice) for the sparse engine
            case "auto" -> engine.equals("cuda-sparse-persistent") ? org.sprnn.engine.cuda.SparsePersistentFactory.exchange() : null;
            case "cluster" -> ExchangeMode.CLUSTER;
            case "timestamps" -> ExchangeMode.TIMESTAMPS;
            case "barrier" -> ExchangeMode.GRID_BARRIER;
            default -> throw new SprnnException("--exchange: expected auto, cluster, timestamps or barrier, got '" + exchange + "'");
        };
        Precision format = Precision.parse("--precision", precision, List.of(Precision.FP16, Precision.BF16));
        boolean dense = switch (engine) {
            case "cuda-sparse-persistent" -> false;
            case "cuda-dense-persistent" -> true;
            default -> throw new SprnnException("--engine: expected cuda-sparse-persistent or cuda-dense-persistent, got '" + engine + "'");
        };
        if (dense && (naive || splitWeights)) {
            throw new SprnnException("--engine cuda-dense-persistent: --naive and --split-weights are sparse switches");
        }
        // the sparse engine's own options, so that the plan is the one the engine runs: its row ends (SPRNN_ROW_ENDS /
        // -Dsprnn.rowEnds: cta, tail, tail-smem, compiled, or runtime for the general loop), warps per CTA (SPRNN_WARPS /
        // -Dsprnn.warpsPerCta: auto or a count), the warps' spread over the warp schedulers (SPRNN_PLACEMENT /
        // -Dsprnn.placement: dealt, spread or cta) and any switch added later; this command's flags on top
        PlanOptions engine = dense ? null : org.sprnn.engine.cuda.SparsePersistentFactory.planOptions(format, false);
        PlanOptions options = dense ? PlanOptions.denseDefaults(format).withExchange(mode)
                : engine.withExchange(mode).withSwitches(!naive, !naive, !naive).withSplitWeights(splitWeights)
                        .withCompiledRowEnds(naive || engine.compiledRowEnds()).withTails(!naive && engine.tails())
                        .withCtaTails(!naive && engine.ctaTails()).withTailSmem(!naive && engine.tailSmem());
        RnnModel model;
        if (source.model != null) {
            model = ModelOption.load(source.model, cell, modelModule, spec);
        } else {
            if (modelModule != null) {
                throw new SprnnException("--module: only with --model (it names the RNN's submodule in the model file)");
            }
            Options.positive("--hidden", source.hidden);
            CellType c = cell == null ? CellType.RNN_RELU : CellType.parse(cell);
            model = SyntheticModels.random(c, 1, source.hidden, 1, density, 1.0, 1);
        }
        DeviceLimits device = GpuInfo.deviceLimits().orElse(null);
        var out = out();
        if (device == null) {
            device = DeviceLimits.h100Sxm();
            out.println("note       no GPU here: planning for " + device.name());
        }
        if (model.bidirectional()) {
            out.println("note       a bidirectional model runs as one " + (dense ? "cuda-dense-persistent" : "cuda-sparse-persistent")
                    + " engine per layer and direction: the plans below are of each layer and direction alone on the whole device "
                    + "(SPRNN_BIDIRECTIONAL=auto or halves may run the two directions at once, each planned for half the SMs)");
        }
        for (int k = 0; k < model.numLayers(); k++) {
            for (int d = 0; d < model.directions(); d++) {
                if (model.numLayers() > 1 || model.bidirectional()) {
                    out.printf("== layer %d%s%n", k, model.bidirectional() ? (d == 0 ? " forward" : " reverse") : "");
                }
                Plan plan = Plan.of(CsrMatrix.of(model.layer(k, d).wHh()), model.cell(), batch, device, options);
                out.print(plan.describe());
            }
        }
        if (dense) {
            out.println("capacity   " + Plan.denseCapacity(model.cell(), batch, device, options).describe());
        }
        return 0;
    }
}
