package org.sprnn.cli;

// Why this exists: the JVM prints "WARNING: Using incubator modules: jdk.incubator.vector" on stderr at
// every start, before main (java.base's ModuleBootstrap; no option turns it off), and the CLI promises
// one line on stderr per error. The launchers (./sprnn, the bundle's bin/sprnn) therefore start the JVM
// with its stderr going through a filter that drops exactly that line, and pass the caller's own stderr
// as another file descriptor. A filter that stayed for the whole run would pass on the JVM's last lines
// after the JVM had exited (a caller reading `2>file` at once could miss the error line: seen once in
// 60 runs on a loaded 2-core machine). So, first thing in main, stderr is moved back onto the caller's
// descriptor (dup2) and the filter, whose input then ends, is given a moment to pass on what came before
// main: from then on the JVM writes straight to the caller's stderr, in order and complete.

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

/** Gives the JVM back the caller's stderr that a launcher set aside (see the file comment). */
final class LauncherStderr {
    /** The descriptor holding the caller's stderr, set by the launchers. */
    static final String FD_PROPERTY = "sprnn.stderr.fd";
    /** The pid of the launcher's stderr filter, to wait for. */
    static final String FILTER_PID_PROPERTY = "sprnn.stderr.filterPid";
    /** How long to wait for the filter to pass on the JVM's start-up output. */
    private static final long FILTER_WAIT_MILLIS = 2000;

    private LauncherStderr() {
    }

    /**
     * Moves stderr (descriptor 2) onto the descriptor named by {@value #FD_PROPERTY} and closes that one;
     * then waits, briefly, for the filter process to end. Does nothing without the property; on any
     * failure stderr stays as it was (through the filter), which still works.
     */
    static void restore() {
        String fd = System.getProperty(FD_PROPERTY);
        if (fd == null) {
            return;
        }
        try {
            int saved = Integer.parseInt(fd);
            if (saved <= 2) {
                return;
            }
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor intInt = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT);
            MethodHandle dup2 = linker.downcallHandle(linker.defaultLookup().find("dup2").orElseThrow(), intInt);
            MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            System.err.flush();
            if ((int) dup2.invokeExact(saved, 2) != 2) {
                return; // the saved descriptor is not open: keep the filtered stderr
            }
            int ignored = (int) close.invokeExact(saved);
            String pid = System.getProperty(FILTER_PID_PROPERTY, "");
            if (!pid.isEmpty()) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(filter -> {
                    try {
                        filter.onExit().get(FILTER_WAIT_MILLIS, TimeUnit.MILLISECONDS);
                    } catch (Exception e) {
                        // a slow filter delays nothing but its own lines
                    }
                });
            }
        } catch (Throwable t) {
            // no native access, no dup2, a malformed property: stderr stays filtered
        }
    }
}
