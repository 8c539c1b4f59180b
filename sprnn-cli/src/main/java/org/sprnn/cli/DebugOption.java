package org.sprnn.cli;

import picocli.CommandLine.Option;

/** The {@code --debug} switch every command accepts (read early by {@link Main}). */
final class DebugOption {
    @Option(names = "--debug", description = "Print stack traces on errors.")
    boolean debug;
}
