package org.sprnn.cli;

import org.sprnn.SprnnException;

/** Checks shared by the commands' option records; each failure names the option. */
final class Options {
    private Options() {
    }

    /**
     * The arithmetic a result row names for an engine: the GPU engines' weight precision as asked, float32 for {@code cpu},
     * float64 for {@code cpu-reference} (whatever the options say).
     */
    static String precisionLabel(String engine, String gpuPrecision) {
        return engine.startsWith("cuda-") || engine.startsWith("auto") ? gpuPrecision : engine.startsWith("cpu-reference") ? "fp64" : "fp32";
    }

    /** Whether any of {@code engines} is a GPU engine (or auto, which may take one): the GPU's diagnostics are worth printing. */
    static boolean anyGpuEngine(java.util.List<String> engines) {
        return engines.stream().anyMatch(e -> !e.startsWith("cpu"));
    }

    /**
     * Creates {@code --out-dir} (and its parents) where missing; refuses one that names an existing file, or that
     * cannot be made, in one line.
     */
    static void outDir(java.nio.file.Path dir) {
        checkOutDir(dir);
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException | SecurityException e) {
            throw new SprnnException("--out-dir " + dir + ": cannot create it: " + org.sprnn.io.Untrusted.why(e));
        }
    }

    /** Refuses an {@code --out-dir} that names an existing file, creating nothing (for checks before the work). */
    static void checkOutDir(java.nio.file.Path dir) {
        if (java.nio.file.Files.exists(dir) && !java.nio.file.Files.isDirectory(dir)) {
            throw new SprnnException("--out-dir " + dir + ": not a directory (an existing file)");
        }
    }

    static void positive(String option, long value) {
        if (value < 1) {
            throw new SprnnException(option + ": must be >= 1, got " + value);
        }
    }

    static void density(String option, double value) {
        if (!(value > 0 && value <= 1)) {
            throw new SprnnException(option + ": must be in (0, 1], got " + value);
        }
    }

    /**
     * {@code work} with system property {@code key} set to {@code value} (null: as it is), restored after: how the bench
     * commands choose an engine's opt-in mode, which the engine reads when it is built or opens a session.
     */
    static <T> T withProperty(String key, String value, java.util.function.Supplier<T> work) {
        if (value == null) {
            return work.get();
        }
        String before = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return work.get();
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }
}
