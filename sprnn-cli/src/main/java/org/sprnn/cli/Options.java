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

    /**
     * Each output none of the inputs and not named as a model file: {@code run}, {@code stream} and {@code demo} write
     * .npy arrays, and writing one over the model or an input the command reads, or under a model's name, would destroy
     * or disguise it.
     */
    static void checkOutputs(String command, java.util.Map<String, java.nio.file.Path> outputs, java.util.Map<String, java.nio.file.Path> inputs) {
        for (var o : outputs.entrySet()) {
            if (o.getValue() == null) {
                continue;
            }
            if (o.getValue().toString().isEmpty()) {
                throw new SprnnException(o.getKey() + ": an empty file name");
            }
            for (var i : inputs.entrySet()) {
                if (i.getValue() != null && sameFile(o.getValue(), i.getValue())) {
                    throw new SprnnException(o.getKey() + " " + o.getValue() + ": is also " + i.getKey()
                            + "; sprnn " + command + " does not write over what it reads");
                }
            }
            java.nio.file.Path leaf = o.getValue().getFileName();
            String name = leaf == null ? "" : leaf.toString().toLowerCase(java.util.Locale.ROOT);
            if (name.endsWith(".safetensors") || name.endsWith(".npz") || name.endsWith(".pt") || name.endsWith(".pth")) {
                throw new SprnnException(o.getKey() + " " + o.getValue() + ": a model file's name; sprnn " + command + " writes .npy arrays "
                        + "(give a name ending in .npy)");
            }
        }
    }

    private static boolean sameFile(java.nio.file.Path a, java.nio.file.Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) {
            return true;
        }
        try { // another name of the same file (a link, a relative path through one)
            return java.nio.file.Files.exists(a) && java.nio.file.Files.exists(b) && java.nio.file.Files.isSameFile(a, b);
        } catch (java.io.IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * {@link #checkOutputs}, then each output file as {@link AtomicFiles} will write it (its directory there, a regular file
     * or absent, none named twice): all before any work.
     */
    static void checkOutputFiles(String command, java.util.Map<String, java.nio.file.Path> outputs,
                                 java.util.Map<String, java.nio.file.Path> inputs) {
        checkOutputs(command, outputs, inputs);
        org.sprnn.io.AtomicFiles.Batch targets = org.sprnn.io.AtomicFiles.batch();
        for (java.nio.file.Path out : outputs.values()) {
            if (out != null) {
                targets.add(out, ch -> { });
            }
        }
        targets.check();
    }
}
