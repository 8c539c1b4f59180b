package org.sprnn.cli;

import java.util.concurrent.Callable;
import org.sprnn.engine.cuda.SparsePersistentSelfTest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sprnn kernel-check}: the sparse persistent kernel's correctness matrix on this GPU (exit 1 on any failure). */
@Command(name = "kernel-check", mixinStandardHelpOptions = true,
        description = {"Checks cuda-sparse-persistent against cpu-reference on the GPU: every cell, several hidden sizes, "
                + "batches, densities and T, every exchange and switch at one shape, stacked layers, and a refusal."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn kernel-check --quick", "  sprnn kernel-check --seed 7"})
final class KernelCheckCommand implements Callable<Integer> {
    @Mixin
    DebugOption debug;

    @Option(names = "--quick", description = "a smaller matrix")
    boolean quick;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        return SparsePersistentSelfTest.run(quick, seed, System.out) == 0 ? 0 : 1;
    }
}
