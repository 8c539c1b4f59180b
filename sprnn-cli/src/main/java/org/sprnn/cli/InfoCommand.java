package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.sprnn.JvmSupport;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import picocli.CommandLine.Command;

/** {@code sprnn info}: what this machine offers — JDK, CPU, and which engines are available or why not. */
@Command(name = "info",
        description = "Show the JDK, the CPU, the GPU (if any) and which engines are available here, and why not.",
        mixinStandardHelpOptions = true,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn info"})
final class InfoCommand extends SprnnCommand {
    @Override
    public Integer call() {
        var out = out();
        out.printf("JDK      %s %s (%s)%n", System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"),
                System.getProperty("java.home"));
        out.printf("CPU      %s, %d logical processors, %s %s%n", cpuModel(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name"), System.getProperty("os.arch"));
        out.printf("heap     %d MB max%n", Runtime.getRuntime().maxMemory() >> 20);
        for (String line : JvmSupport.describe()) { // the launcher passes both flags; a bare `java -jar` may not
            out.printf("JVM      %s%n", line);
        }
        for (String line : GpuInfo.describe()) {
            out.println(line);
        }
        out.println();
        out.println("engines (availability judged for a small rnn_relu layer; size limits show in 'sprnn run' and 'sprnn plan'):");
        RnnModel probe = SyntheticModels.random(CellType.RNN_RELU, 64, 64, 1, 0.1, 1.0, 0);
        EngineOptions options = EngineOptions.builder().build();
        for (EngineFactory f : EngineProvider.factories()) {
            Optional<String> why = org.sprnn.engine.EngineProvider.unavailableReason(f, probe, options);
            out.printf("  %-24s %-11s %s%n", f.name(), why.isEmpty() ? "available" : "unavailable",
                    why.orElse(f.description()));
        }
        return 0;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: fall through
        }
        return "unknown CPU model";
    }
}
