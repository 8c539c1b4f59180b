package org.sprnn;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the running JVM grants sprnn, and what is lost without it; said once, never silently.
 *
 * <p>Two JVM options matter to a program that uses sprnn as a library (the {@code sprnn} launcher and the
 * self-contained distribution pass both):
 * <ul>
 *   <li>{@code --add-modules jdk.incubator.vector}: without it the {@code cpu} engine runs its scalar loops,
 *       about 3 times slower (3.1x at hidden 2304, one thread: results/cpu/README.md); results are the same to its tolerance.</li>
 *   <li>{@code --enable-native-access=ALL-UNNAMED} (class path) or {@code =org.sprnn.core} (module path):
 *       the GPU engines call the CUDA libraries through the Foreign Function and Memory API. Without it
 *       JDK 25 prints its own warning at the first native call and goes on; with
 *       {@code --illegal-native-access=deny} (a future default) the GPU engines are unavailable.</li>
 * </ul>
 * The first use of what is missing logs one WARNING through {@link System.Logger} (logger {@code org.sprnn},
 * which the JDK's default backend prints to stderr), once per JVM; {@link #describe()} gives the lines that
 * {@code sprnn info} shows.
 */
public final class JvmSupport {
    /** The module name of the Vector API, incubating since JDK 16. */
    public static final String VECTOR_MODULE = "jdk.incubator.vector";

    private static final System.Logger LOG = System.getLogger("org.sprnn");
    private static final boolean VECTOR_API = ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    // read before sprnn's first native call: in the JDK's default "warn" mode the first restricted call
    // enables native access for the module after printing its warning, so a later reading says true
    private static final boolean NATIVE_ACCESS = JvmSupport.class.getModule().isNativeAccessEnabled();
    private static final AtomicBoolean VECTOR_API_REPORTED = new AtomicBoolean();
    private static final AtomicBoolean NATIVE_ACCESS_REPORTED = new AtomicBoolean();

    private JvmSupport() {
    }

    /**
     * Whether the Vector API module is in this JVM.
     *
     * @return {@code true} if {@code jdk.incubator.vector} is in the boot layer (the JVM was started with
     *         {@code --add-modules jdk.incubator.vector})
     */
    public static boolean vectorApi() {
        return VECTOR_API;
    }

    /**
     * Whether sprnn's own code may call restricted methods (load native libraries, make downcalls) without
     * the JDK's warning, that is whether native access is enabled for the module this class is in.
     *
     * @return {@code true} if {@code --enable-native-access} names sprnn's module (or {@code ALL-UNNAMED} on
     *         the class path), or an executable jar's manifest enables it; read once, before sprnn's
     *         first native call
     */
    public static boolean nativeAccess() {
        return NATIVE_ACCESS;
    }

    /**
     * The option that enables native access for sprnn where it runs now.
     *
     * @return {@code --enable-native-access=ALL-UNNAMED} on the class path, or
     *         {@code --enable-native-access=<module>} on the module path
     */
    public static String nativeAccessFlag() {
        Module m = JvmSupport.class.getModule();
        return "--enable-native-access=" + (m.isNamed() ? m.getName() : "ALL-UNNAMED");
    }

    /**
     * One line per JVM capability, each saying whether it is there and, if not, what is lost and which
     * option restores it (for {@code sprnn info} and for programs that want to log it at start).
     *
     * @return two lines: the Vector API, then native access
     */
    public static List<String> describe() {
        List<String> lines = new ArrayList<>(2);
        lines.add(vectorApi() ? "Vector API: present (" + VECTOR_MODULE + "), the cpu engine uses its vector loops"
                : "Vector API: MISSING: " + vectorApiMissing());
        lines.add(nativeAccess() ? "native access: enabled (the GPU engines may call the CUDA libraries)"
                : "native access: NOT ENABLED: " + nativeAccessMissing());
        return lines;
    }

    /**
     * Called by the {@code cpu} engine when it falls back to its scalar loops: logs, once per JVM, that the
     * Vector API module is missing.
     */
    public static void reportScalarFallback() {
        if (!vectorApi() && VECTOR_API_REPORTED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "sprnn: " + vectorApiMissing());
        }
    }

    /**
     * Called before sprnn's first native call (loading a CUDA library): logs, once per JVM, that native access
     * is not enabled, if it is not.
     */
    public static void reportNativeAccessUse() {
        if (!nativeAccess() && NATIVE_ACCESS_REPORTED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "sprnn: " + nativeAccessMissing());
        }
    }

    private static String vectorApiMissing() {
        return VECTOR_MODULE + " is not in this JVM, so the cpu engine runs its scalar loops (about 3x slower);"
                + " start java with --add-modules " + VECTOR_MODULE;
    }

    private static String nativeAccessMissing() {
        return "native access is not enabled for sprnn, so the JDK warns at the GPU engines' first native call"
                + " (and they are unavailable under --illegal-native-access=deny); start java with "
                + nativeAccessFlag();
    }

    /**
     * The refusal for an allocation the Java heap cannot give (the {@code OutOfMemoryError} caught where it was asked
     * for, so that no {@code Error} leaves the library): what it was for, its size, and the flag that raises the limit.
     *
     * @param what what the memory was for, e.g. {@code "the outputs [T][B][H] = [700000][1][1024]"}
     * @param bytes the bytes asked for
     * @param orElse what else would help, e.g. {@code "run the sequence in pieces"}, or null
     * @return the exception to throw
     */
    public static SprnnException heapTooSmall(String what, long bytes, String orElse) {
        return new SprnnException(what + " needs " + Math.max(1, bytes >> 20) + " MiB of Java heap, more than the JVM can give"
                + " (its limit " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB): raise it (-Xmx, or SPRNN_JAVA_OPTS=-Xmx<size> "
                + "for the sprnn command)" + (orElse == null ? "" : ", or " + orElse));
    }
}
