package org.sprnn.cli;

import picocli.CommandLine.Option;

/**
 * The synthetic layer that {@code bench} and {@code bench ablation} time: {@code --hidden}, {@code --batch},
 * {@code --density} and {@code --steps}. Each command gives its own default hidden size and density as the mixin's
 * initial values (picocli shows them as the defaults).
 */
final class SyntheticLayerOptions {
    @Option(names = "--hidden", description = "hidden size H (default: ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--batch", defaultValue = "4", description = "batch B (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--density", description = "W_hh density in (0,1] (default: ${DEFAULT-VALUE})")
    double density;

    @Option(names = "--steps", defaultValue = "256", description = "timesteps T (default: ${DEFAULT-VALUE})")
    int steps;

    SyntheticLayerOptions(int hidden, double density) {
        this.hidden = hidden;
        this.density = density;
    }
}
