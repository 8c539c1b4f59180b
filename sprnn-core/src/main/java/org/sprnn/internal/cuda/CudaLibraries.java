package org.sprnn.internal.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.sprnn.JvmSupport;

/**
 * Finds the CUDA shared libraries by soname and explains where it looked when it cannot.
 *
 * <p>Order: the dynamic loader's own search path ({@code LD_LIBRARY_PATH}, ld.so.cache), then
 * {@code $CUDA_HOME}/{@code $CUDA_PATH} ({@code lib64}, {@code lib}, {@code targets/x86_64-linux/lib}),
 * then {@code /usr/local/cuda}, {@code /usr/local/cuda-*} (newest first), the driver folders
 * {@code /usr/local/nvidia/lib64} and {@code /usr/lib/x86_64-linux-gnu}. Never plain {@code libcuda.so}
 * (a development stub on many machines): only the sonames given.
 */
public final class CudaLibraries {
    private CudaLibraries() {
    }

    /**
     * The outcome of looking for one library.
     *
     * @param name    what it is, e.g. {@code cuBLASLt}
     * @param lookup  its symbols, or {@code null} when not found
     * @param path    the file loaded (or the soname when the loader did not say), or {@code null}
     * @param problem why it was not found, or {@code null}
     */
    public record Found(String name, SymbolLookup lookup, String path, String problem) {
        /** Whether the library was loaded. */
        public boolean ok() {
            return lookup != null;
        }
    }

    /**
     * Opens the first of {@code sonames} that loads, looking in the places listed in the class comment.
     * Never throws: failures come back as {@link Found#problem()}.
     */
    @SuppressWarnings("restricted") // loading native libraries is this class's job
    public static Found open(String name, List<String> sonames) {
        JvmSupport.reportNativeAccessUse();
        List<String> tried = new ArrayList<>();
        for (String so : sonames) {
            try {
                SymbolLookup l = SymbolLookup.libraryLookup(so, Arena.global());
                return new Found(name, l, loadedPath(so).orElse(so + " (from the loader path)"), null);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                tried.add(so);
            } catch (IllegalCallerException e) { // --illegal-native-access=deny and native access not enabled
                return new Found(name, null, null, "native access is denied to sprnn in this JVM: start java with "
                        + JvmSupport.nativeAccessFlag() + " (" + e.getMessage() + ")");
            }
        }
        List<Path> dirs = searchDirs();
        List<String> loadErrors = new ArrayList<>();
        for (Path dir : dirs) {
            for (String so : sonames) {
                Path p = dir.resolve(so);
                if (Files.exists(p)) {
                    try {
                        SymbolLookup l = SymbolLookup.libraryLookup(p, Arena.global());
                        return new Found(name, l, p.toAbsolutePath().toString(), null);
                    } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                        loadErrors.add(p + ": " + e.getMessage());
                    }
                }
            }
        }
        String problem = !loadErrors.isEmpty()
                ? "found but failed to load: " + String.join("; ", loadErrors) + " (and not on the loader path)"
                : String.join(" or ", sonames) + " not found on the loader path (LD_LIBRARY_PATH, ld.so.cache)"
                        + (dirs.isEmpty() ? "" : " nor under " + searchedPlaces(dirs))
                        + (System.getenv("CUDA_HOME") == null ? "; CUDA_HOME is not set" : "");
        return new Found(name, null, null, problem);
    }

    /** The folders searched, shortened to their toolkit roots: {@code /usr/local/cuda-13.0/{lib64,lib,...}} → one entry. */
    private static String searchedPlaces(List<Path> dirs) {
        Set<String> places = new LinkedHashSet<>();
        for (Path d : dirs) {
            String s = d.toString();
            for (String suffix : new String[] {"/targets/x86_64-linux/lib", "/lib64", "/lib"}) {
                if (s.endsWith(suffix) && s.contains("cuda")) {
                    s = s.substring(0, s.length() - suffix.length());
                    break;
                }
            }
            places.add(s);
        }
        return String.join(", ", places);
    }

    /** Candidate folders that exist, in search order, without duplicates. */
    public static List<Path> searchDirs() {
        Set<Path> out = new LinkedHashSet<>();
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                addToolkit(out, Path.of(v));
            }
        }
        addToolkit(out, Path.of("/usr/local/cuda"));
        for (Path p : versionedToolkits()) {
            addToolkit(out, p);
        }
        for (String d : new String[] {"/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu",
                "/usr/lib64", "/usr/lib/wsl/lib"}) {
            Path p = Path.of(d);
            if (Files.isDirectory(p)) {
                out.add(p);
            }
        }
        return new ArrayList<>(out);
    }

    /** Toolkit roots to look for headers in: CUDA_HOME, CUDA_PATH, /usr/local/cuda, /usr/local/cuda-* (newest first). */
    public static List<Path> toolkitRoots() {
        List<Path> out = new ArrayList<>();
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                out.add(Path.of(v));
            }
        }
        out.add(Path.of("/usr/local/cuda"));
        out.addAll(versionedToolkits());
        return out;
    }

    private static void addToolkit(Set<Path> out, Path root) {
        for (String sub : new String[] {"lib64", "lib", "targets/x86_64-linux/lib"}) {
            Path p = root.resolve(sub);
            if (Files.isDirectory(p)) {
                out.add(p);
            }
        }
    }

    private static List<Path> versionedToolkits() {
        List<Path> found = new ArrayList<>();
        Path local = Path.of("/usr/local");
        if (Files.isDirectory(local)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(local, "cuda-*")) {
                ds.forEach(found::add);
            } catch (IOException | RuntimeException e) {
                // an unreadable /usr/local only removes candidates
            }
        }
        found.sort(Comparator.comparing((Path p) -> p.getFileName().toString(), CudaLibraries::compareVersions).reversed());
        return found;
    }

    private static int compareVersions(String a, String b) {
        String[] x = a.replaceAll("[^0-9.]", "").split("\\."), y = b.replaceAll("[^0-9.]", "").split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int u = i < x.length && !x[i].isEmpty() ? Integer.parseInt(x[i]) : 0;
            int v = i < y.length && !y[i].isEmpty() ? Integer.parseInt(y[i]) : 0;
            if (u != v) {
                return Integer.compare(u, v);
            }
        }
        return 0;
    }

    /** The file the dynamic loader mapped for {@code soname}, read from /proc/self/maps. */
    static Optional<String> loadedPath(String soname) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash >= 0) {
                    String file = line.substring(slash).trim();
                    String base = Path.of(file).getFileName().toString();
                    String stem = soname.substring(0, soname.indexOf(".so") + 3); // libcuda.so.1 → libcuda.so
                    if (base.equals(stem) || base.startsWith(stem + ".")) {
                        return Optional.of(file);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc: report the soname instead
        }
        return Optional.empty();
    }
}
