package org.sprnn.cli;

import picocli.CommandLine.Option;

/** {@code --seed} of the measuring and checking commands ({@code bench}, {@code bench ablation}, {@code kernel-check}). */
final class SeedOption {
    @Option(names = "--seed", defaultValue = "1", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;
}
