package org.sprnn.cli;

import java.io.PrintWriter;
import org.sprnn.SprnnException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the sprnn command-line tool: a thin layer of picocli commands over the library.
 *
 * <p>Errors the user can act on ({@link SprnnException}, bad options) print one line on stderr and exit
 * with code 2; a stack trace only with {@code --debug}. Anything else is a bug: one line, exit code 3.
 */
@Command(name = "sprnn",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Runs pruned (sparse) recurrent networks (RNN relu/tanh, GRU, LSTM) with PyTorch's semantics, "
                + "on NVIDIA GPUs with on-chip sparse weights, or on the CPU.",
        subcommands = {
            DemoCommand.class,
            RunCommand.class,
            StreamCommand.class,
            InspectCommand.class,
            PruneCommand.class,
            PlanCommand.class,
            ExplainCommand.class,
            InfoCommand.class,
            SelfTestCommand.class,
            BenchCommand.class,
            KernelCheckCommand.class,
            PlotCommand.class,
            CommandLine.HelpCommand.class
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  sprnn demo",
            "  sprnn info",
            "  sprnn selftest",
            "  sprnn bench --hidden 2304 --batch 4 --density 0.3 --steps 256",
            "  sprnn plot --out chart.svg bench.csv",
            "  sprnn run --model lstm.safetensors --input x.npy --output y.npy",
            "  sprnn run --model bigru.safetensors --input x.npy --lengths 17,256,90,3 --output y.npy",
            "  sprnn stream --model gru.safetensors --batch 4 --format raw < steps.f32 > outputs.f32",
            "  sprnn prune --model lstm.safetensors --density 0.1 --output lstm-d10.safetensors",
            "  sprnn <command> --help"
        })
public final class Main {
    /** Exit code for bad input or options, and for unavailable engines. */
    public static final int EXIT_USAGE = 2;
    /** Exit code for an unexpected internal error (a bug). */
    public static final int EXIT_BUG = 3;

    private Main() {
    }

    public static void main(String[] args) {
        LauncherStderr.restore(); // the launchers filter the JVM's start-up warning out of stderr
        utf8WhereNeeded(); // before anything prints: some commands print to System.out directly
        System.exit(execute(args, System.in, System.out, textWriter(System.out), textWriter(System.err)));
    }

    /**
     * Replaces {@code System.out} and {@code System.err} by UTF-8 streams on the same descriptors where their charset
     * cannot write the output's own characters ({@link #textCharset}); binary writes ({@code sprnn stream}) pass
     * through a PrintStream unchanged.
     */
    private static void utf8WhereNeeded() {
        System.setOut(utf8WhereNeeded(System.out, java.io.FileDescriptor.out));
        System.setErr(utf8WhereNeeded(System.err, java.io.FileDescriptor.err));
    }

    /** {@code stream} where its charset can write µ, ≤ and ×, else a UTF-8 stream on {@code fd}. */
    private static java.io.PrintStream utf8WhereNeeded(java.io.PrintStream stream, java.io.FileDescriptor fd) {
        if (textCharset(stream.charset()) == stream.charset()) {
            return stream;
        }
        stream.flush();
        return new java.io.PrintStream(new java.io.BufferedOutputStream(new java.io.FileOutputStream(fd), 8192), true,
                java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * A text writer on {@code stream} in its charset, or in UTF-8 where that charset cannot write the output's own
     * characters (µ, ≤, ×): under the C/POSIX locale (no LANG, as in containers and CI) Java's stdout is ASCII and
     * would print "?s" for "µs"; like Python's C-locale coercion, sprnn then writes UTF-8, which terminals show (a
     * Latin-1 console, which has µ and × but not ≤, gets UTF-8 too: a trade-off for one rule).
     */
    static PrintWriter textWriter(java.io.PrintStream stream) {
        java.nio.charset.Charset cs = textCharset(stream.charset());
        return new PrintWriter(new java.io.OutputStreamWriter(stream, cs), true);
    }

    /** {@code cs} where it can encode µ, ≤ and ×, else UTF-8. */
    static java.nio.charset.Charset textCharset(java.nio.charset.Charset cs) {
        return cs.canEncode() && cs.newEncoder().canEncode("µ≤×") ? cs : java.nio.charset.StandardCharsets.UTF_8;
    }

    /** Runs the CLI with the given streams; returns the exit code (used by tests). {@code sprnn stream} uses the process's stdin and stdout. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, System.in, System.out, out, err);
    }

    /**
     * Runs the CLI with the given streams; returns the exit code (used by tests).
     *
     * @param stdin  the bytes {@code sprnn stream} reads its frames from
     * @param stdout where {@code sprnn stream} writes its output frames (binary)
     * @param out    text output (help, tables)
     * @param err    messages
     */
    public static int execute(String[] args, java.io.InputStream stdin, java.io.OutputStream stdout, PrintWriter out, PrintWriter err) {
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine cl = new CommandLine(Main.class, new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                return cls == StreamCommand.class ? cls.cast(new StreamCommand(stdin, stdout)) : defaults.create(cls);
            }
        });
        cl.setOut(out);
        cl.setErr(err);
        // wide enough that the examples' command lines (file names, engine lists) are not broken where a reader copies them
        cl.setUsageHelpWidth(140);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (debug) {
                ex.printStackTrace(err);
            }
            // the command as typed ("sprnn bench session"), its name not repeated where the message starts with it
            String command = commandLine.getCommandSpec().qualifiedName(" ");
            if (ex instanceof SprnnException) {
                String msg = String.valueOf(ex.getMessage());
                String own = commandLine.getCommandName() + ": ";
                // a message the CLI or its checks (org.sprnn.check) wrote starting with the command's name ("kernel-check: no
                // usable GPU") loses the repeat; the library's own ("session: closed ...") keep their subject
                String origin = ex.getStackTrace().length > 0 ? ex.getStackTrace()[0].getClassName() : "";
                boolean ours = origin.startsWith("org.sprnn.cli.") || origin.startsWith("org.sprnn.check.");
                err.println(org.sprnn.io.Untrusted.printable(command + ": " + (ours && msg.startsWith(own) ? msg.substring(own.length()) : msg)));
                return EXIT_USAGE;
            }
            err.println(org.sprnn.io.Untrusted.printable(command + ": internal error: " + ex
                    + (debug ? "" : " (run with --debug for the stack trace)")));
            return EXIT_BUG;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println(org.sprnn.io.Untrusted.printable("sprnn: " + ex.getMessage() + " (see '"
                    + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')"));
            return EXIT_USAGE;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println(org.sprnn.io.Untrusted.printable("sprnn: out of Java heap memory (" + e.getMessage()
                    + "): give the JVM more with SPRNN_JAVA_OPTS=-Xmx<size>"));
            return EXIT_USAGE;
        } catch (Error e) { // a bug (no input should reach one): one line, as for any other
            if (debug) {
                e.printStackTrace(err);
            }
            err.println("sprnn: internal error: " + e.getClass().getName() + (debug ? "" : " (run with --debug for the stack trace)"));
            return EXIT_BUG;
        } finally {
            out.flush();
            err.flush();
        }
    }
}
