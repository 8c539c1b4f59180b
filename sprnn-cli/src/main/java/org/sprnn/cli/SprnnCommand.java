package org.sprnn.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every sprnn command has: the {@code --debug} switch (read early by {@link Main}) and its picocli spec, whose
 * streams ({@link #out()}, {@link #err()}) are the ones {@link Main#execute} was given.
 */
abstract class SprnnCommand implements Callable<Integer> {
    @Option(names = "--debug", description = "Print stack traces on errors.")
    boolean debug;

    @Spec
    CommandSpec spec;

    /** The command's standard output. */
    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** The command's standard error. */
    PrintWriter err() {
        return spec.commandLine().getErr();
    }
}
