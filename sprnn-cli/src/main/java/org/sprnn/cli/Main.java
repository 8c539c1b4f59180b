package org.sprnn.cli;

import org.sprnn.SprnnException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of the sprnn command-line tool: a picocli command with one subcommand per job. A
 * {@link SprnnException} (bad input, unavailable engine, CUDA error) prints its one-line message and
 * exits 2; a stack trace only with {@code --debug}.
 */
@Command(name = "sprnn", mixinStandardHelpOptions = true, version = "sprnn 0.1.0",
        description = "Sparse persistent RNN inference on NVIDIA GPUs, from Java.",
        subcommands = {SelfTestCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @Option(names = "--debug", description = "print stack traces of errors", scope = CommandLine.ScopeType.INHERIT)
    boolean debug;

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** Builds the command line with sprnn's error handling. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            boolean dbg = parseResult.hasMatchedOption("--debug");
            if (ex instanceof SprnnException) {
                line.getErr().println("sprnn: " + ex.getMessage());
                if (dbg) {
                    ex.printStackTrace(line.getErr());
                }
                return 2;
            }
            line.getErr().println("sprnn: internal error: " + ex);
            if (dbg) {
                ex.printStackTrace(line.getErr());
            }
            return 1;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
