package org.sprnn.cli;

import java.nio.file.Path;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.RnnModel;
import org.sprnn.prune.ModelStats;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code sprnn prune}: magnitude pruning of a model to a target density, written in the format the output's
 * name says ({@code .safetensors} or {@code .npz}) under the input's own state-dict keys (same module prefix,
 * biases only where the input had them), so the result loads into the same PyTorch module with
 * {@code load_state_dict(strict=True)}.
 */
@Command(name = "prune",
        description = {"Magnitude-prune W_hh (and with --input-weights also W_ih) of every layer, both directions, to a "
                + "target density. --mode says where the kept count applies: per-matrix (the largest |w| anywhere), "
                + "per-row (max(1, round(d*cols)) in every row), balanced (each group of G = --group consecutive rows keeps "
                + "round(d*G*cols), every row of it the same count within one, the extra ones to the rows whose next "
                + "weight is largest) or bank-balanced (every row keeps max(1, round(d*cols/32)) in each bank of columns "
                + "c mod 32, the GPU's shared-memory banks). Gate rows are rows; ties go to the lower index.",
            "The output keeps the input's state-dict keys (module prefix, no biases added to a bias=False model) and is "
                + "written as safetensors or npz as its name ends in .safetensors or .npz."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn prune --model lstm.safetensors --density 0.1 --output lstm-d10.safetensors",
            "  sprnn prune --model gru.npz --cell gru --density 0.3 --mode per-row --input-weights --output gru-d30.npz",
            "  sprnn prune --model lstm.safetensors --density 0.1 --mode balanced --group 32 --output lstm-bal10.safetensors",
            "  sprnn prune --model lstm.safetensors --density 0.1 --mode bank-balanced --output lstm-bbs10.safetensors"})
final class PruneCommand extends SprnnCommand {
    @Mixin
    ModelOption modelOption;

    @Option(names = "--density", required = true, description = "Fraction of weights to keep, in (0, 1].")
    double density;

    @Option(names = "--mode", description = "per-matrix, per-row, balanced or bank-balanced (default: per-matrix).")
    String mode;

    @Option(names = "--group", description = "Rows per group for --mode balanced, at least 1 (default: "
            + PruneSpec.DEFAULT_GROUP + ", the rows a warp of the GPU kernel shares).")
    Integer group;

    @Option(names = "--per-row", description = "Same as --mode per-row.")
    boolean perRow;

    @Option(names = "--input-weights", description = "Prune W_ih too (default: only W_hh).")
    boolean inputWeights;

    @Option(names = "--output", required = true, description = "Output file: .safetensors (with the cell in its metadata) or .npz.")
    Path output;

    @Option(names = "--dtype", defaultValue = "f32", description = "Weight type of the output file: f32, f16, bf16, f64 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() {
        Precision type;
        try {
            type = Precision.parse(dtype);
        } catch (SprnnException e) {
            throw new SprnnException("--dtype: " + e.getMessage());
        }
        ModelFiles.Format format;
        try {
            format = ModelFiles.formatOfName(output);
        } catch (SprnnException e) {
            throw new SprnnException("--output: " + e.getMessage());
        }
        if (format == ModelFiles.Format.NPZ && !Npy.canStore(type)) {
            throw new SprnnException("--dtype: " + dtype + " cannot be stored in an .npz (numpy has no such dtype): "
                    + "use f32, f16 or f64, or a .safetensors --output");
        }
        PruneSpec ps = spec();
        RnnModel m = modelOption.load();
        RnnModel pruned = Pruner.prune(m, ps);
        ModelFiles.save(pruned, output, type);
        out().printf("wrote %s (%s)%n", output, format == ModelFiles.Format.NPZ
                ? "npz: holds no cell type, so load it with --cell " + pruned.cell().id()
                : "safetensors, cell " + pruned.cell().id() + " in its metadata");
        out().print(ModelStats.of(pruned).toTable());
        double kept = keptFraction(pruned);
        String note = keptNote(ps, m, pruned.hiddenSize(), kept);
        if (note != null) {
            err().println(note);
        }
        return 0;
    }

    /**
     * The note for a W_hh whose kept fraction {@code kept} is off the density asked for by more than 5% of it (and a
     * tenth of a percent), with why: the input had fewer nonzeros, or the mode's count a row, group or bank rounds so;
     * null where it is on target.
     */
    static String keptNote(PruneSpec ps, RnnModel input, int cols, double kept) {
        double density = ps.density();
        double off = Math.max(0.001, 0.05 * density);
        if (Math.abs(kept - density) <= off) {
            return null;
        }
        double had = keptFraction(input);
        int banks = Math.min(PruneSpec.BANKS, cols);
        String why = had < density - off
                ? String.format(java.util.Locale.ROOT, " (the input's W_hh has only %.1f%% nonzero weights)", 100 * had)
                : switch (ps.mode()) {
                    case BANK_BALANCED -> String.format(java.util.Locale.ROOT, " (bank-balanced keeps max(1, round(d x columns / %d)) = %d "
                            + "weights a row in each of the %d banks of columns c mod %d, of %s columns each here)", PruneSpec.BANKS,
                            Math.max(1, Math.round(density * cols / PruneSpec.BANKS)), banks, PruneSpec.BANKS,
                            cols % banks == 0 ? Integer.toString(cols / banks) : (cols / banks) + " or " + (cols / banks + 1));
                    case PER_ROW -> String.format(java.util.Locale.ROOT, " (per-row keeps max(1, round(d x %d columns)) = %d weights a row)",
                            cols, Math.max(1, Math.round(density * cols)));
                    case BALANCED -> String.format(java.util.Locale.ROOT, " (balanced keeps round(d x %d rows x %d columns) a group of rows, "
                            + "clamped to [%d, %d])", ps.group(), cols, ps.group(), (long) ps.group() * cols);
                    default -> "";
                };
        return String.format(java.util.Locale.ROOT, "sprnn prune: note: W_hh keeps %.1f%% of its weights where --density asked %.1f%%%s",
                100 * kept, 100 * density, why);
    }

    /** The fraction of W_hh's weights (every layer and direction) that are nonzero. */
    private static double keptFraction(RnnModel m) {
        long nonzero = 0, all = 0;
        for (java.util.List<org.sprnn.model.Layer> dir : java.util.List.of(m.layers(), m.reverseLayers())) {
            for (org.sprnn.model.Layer l : dir) {
                for (double v : l.wHh().data()) {
                    nonzero += v != 0 ? 1 : 0;
                }
                all += l.wHh().data().length;
            }
        }
        return all == 0 ? 0 : (double) nonzero / all;
    }

    /** The options as a spec, checked before any file is read. */
    private PruneSpec spec() {
        PruneSpec.Mode m = mode == null ? (perRow ? PruneSpec.Mode.PER_ROW : PruneSpec.Mode.PER_MATRIX) : PruneSpec.Mode.parse(mode);
        if (perRow && m != PruneSpec.Mode.PER_ROW) {
            throw new SprnnException("--per-row: conflicts with --mode " + m.id());
        }
        if (group != null && m != PruneSpec.Mode.BALANCED) {
            throw new SprnnException("--group: only with --mode balanced, not --mode " + m.id());
        }
        return new PruneSpec(density, m, inputWeights, group == null ? PruneSpec.DEFAULT_GROUP : group);
    }
}
