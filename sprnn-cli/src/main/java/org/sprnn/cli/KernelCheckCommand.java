package org.sprnn.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.sprnn.SprnnException;
import org.sprnn.check.SparsePersistentFullCheck;
import org.sprnn.check.SparsePersistentSelfTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn kernel-check}: the sparse persistent kernel's correctness on this GPU (exit 1 on any failure): a
 * sample matrix (default, {@code --quick} smaller) or, with {@code --full}, the whole matrix of issue 4
 * ({@link SparsePersistentFullCheck}).
 */
@Command(name = "kernel-check", mixinStandardHelpOptions = true,
        description = {"Checks cuda-sparse-persistent and cuda-dense-persistent against cpu-reference on the GPU: every cell, "
                + "several hidden sizes, batches, densities and T, every exchange and switch at one shape, stacked layers, bf16, "
                + "the dense engine at its capacity, refusals beyond it, and batches of sequences of different lengths (the kernel's lengths variant)."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn kernel-check --quick", "  sprnn kernel-check --seed 7", "  sprnn kernel-check --engine cuda-dense-persistent",
                "  sprnn kernel-check --full --fixtures sprnn-core/src/test/resources/golden"})
final class KernelCheckCommand extends SprnnCommand {
    @Option(names = "--quick", description = "a smaller matrix")
    boolean quick;

    @Option(names = "--full", description = "the whole matrix: every cell x hidden {64..4096} x batch {1..16} x density "
            + "{1..100%%} x T {1,7,256}, every switch combination, stacked layers, bf16, long sequences, the fault path "
            + "(a few minutes on an H100 with 16 cores)")
    boolean full;

    @Option(names = "--fixtures", paramLabel = "DIR", description = "with --full: also the PyTorch golden fixtures in DIR "
            + "(manifest.json, e.g. sprnn-core/src/test/resources/golden)")
    Path fixtures;

    @Option(names = "--engine", split = ",", paramLabel = "NAME", description = "the engines whose matrix runs (default: both; "
            + "--full checks cuda-sparse-persistent): cuda-sparse-persistent, cuda-dense-persistent")
    java.util.List<String> engines;

    @Mixin
    SeedOption seedOption;

    @Override
    public Integer call() {
        if (fixtures != null && !full) {
            throw new SprnnException("kernel-check: --fixtures needs --full");
        }
        if (full && quick) {
            throw new SprnnException("kernel-check: --full and --quick exclude each other");
        }
        if (fixtures != null && !Files.isRegularFile(fixtures.resolve("manifest.json"))) {
            throw new SprnnException("kernel-check: --fixtures " + fixtures + ": no manifest.json there");
        }
        if (full) {
            return SparsePersistentFullCheck.run(seedOption.seed, fixtures, System.out, System.err) == 0 ? 0 : 1;
        }
        java.util.Set<String> which = engines == null ? SparsePersistentSelfTest.ENGINES : new java.util.LinkedHashSet<>(engines);
        return SparsePersistentSelfTest.run(quick, seedOption.seed, System.out, which) == 0 ? 0 : 1;
    }
}
