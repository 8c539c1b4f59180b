package org.sprnn.internal.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a kernel source resource plus {@code -D} defines into a CUBIN for one architecture, through
 * NVRTC, with an on-disk cache.
 *
 * <p>Sources live under {@code org/sprnn/kernels/} on the class path; {@code #include "x.cuh"} lines
 * are resolved from the same folder and handed to NVRTC as in-memory headers. Toolkit headers
 * ({@code <cuda_fp16.h>}) come from the first toolkit include folder found ({@link #toolkitIncludeDirs}).
 *
 * <p>Cache: {@code $SPRNN_CACHE/cubin} or {@code ~/.cache/sprnn/cubin}, one file per
 * {@code <kernel name>-<sha256 prefix>.cubin}, the hash over the source and headers, the defines, the
 * architecture, the options and NVRTC's version, and beside it {@code <same>.options}: the source name and the
 * options, one per line, that built it. A cache that cannot be written is skipped silently.
 */
public final class KernelCompiler {
    /** Class-path folder of kernel sources. */
    public static final String RESOURCE_DIR = "org/sprnn/kernels/";
    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"", Pattern.MULTILINE);

    private final Nvrtc nvrtc;
    /**
     * Code-generation options: {@code $SPRNN_NVRTC_OPTIONS} (whitespace-separated) if set, for experiments
     * with NVRTC's code generation (they enter the cache key like every option), else the defaults.
     */
    static final List<String> TUNING_OPTIONS = tuningOptions(System.getenv("SPRNN_NVRTC_OPTIONS"));

    static List<String> tuningOptions(String env) {
        if (env == null) {
            return List.of("-default-device");
        }
        return java.util.Arrays.stream(env.trim().split("\\s+")).filter(o -> !o.isEmpty()).toList();
    }

    private final Path cacheDir;
    private final List<String> includeOptions;

    /** A compiler on the loaded NVRTC, caching under the default folder. */
    public KernelCompiler() {
        this(Nvrtc.get(), defaultCacheDir());
    }

    KernelCompiler(Nvrtc nvrtc, Path cacheDir) {
        this.nvrtc = nvrtc;
        this.cacheDir = cacheDir;
        List<String> inc = new ArrayList<>();
        for (Path p : toolkitIncludeDirs(nvrtc.path())) {
            inc.add("-I" + p);
        }
        this.includeOptions = List.copyOf(inc);
    }

    /** {@code $SPRNN_CACHE/cubin}, else {@code ~/.cache/sprnn/cubin}. */
    public static Path defaultCacheDir() {
        return org.sprnn.CacheDir.root().resolve("cubin");
    }

    /**
     * Include folders holding {@code cuda_fp16.h}: {@code $CUDA_HOME/include}, toolkit roots, and the
     * {@code include} beside the loaded libnvrtc; each with its {@code cccl} sub-folder when present.
     */
    public static List<Path> toolkitIncludeDirs(String nvrtcPath) {
        List<Path> roots = new ArrayList<>(CudaLibraries.toolkitRoots());
        if (nvrtcPath != null && nvrtcPath.startsWith("/")) {
            Path lib = Path.of(nvrtcPath).getParent();
            if (lib != null && lib.getParent() != null) {
                roots.add(lib.getParent());
                if (lib.getParent().getParent() != null) {
                    roots.add(lib.getParent().getParent()); // targets/x86_64-linux/lib → toolkit root
                }
            }
        }
        for (Path r : roots) {
            for (String sub : new String[] {"include", "targets/x86_64-linux/include"}) {
                Path inc = r.resolve(sub);
                if (Files.isRegularFile(inc.resolve("cuda_fp16.h"))) {
                    List<Path> out = new ArrayList<>();
                    out.add(inc);
                    if (Files.isDirectory(inc.resolve("cccl"))) {
                        out.add(inc.resolve("cccl"));
                    }
                    return out;
                }
            }
        }
        return List.of();
    }

    /** The {@code -I} options in use (empty when no toolkit headers were found). */
    public List<String> includeOptions() {
        return includeOptions;
    }

    /** NVRTC's version. */
    public String nvrtcVersion() {
        return nvrtc.version();
    }

    /**
     * Compiles (or fetches from the cache) {@code sourceName} with {@code defines} for {@code arch}.
     *
     * @param sourceName file under {@link #RESOURCE_DIR}, e.g. {@code rnn_cell_update.cu}
     * @param kernelName the specialised kernel's name (labels the cache file and errors)
     * @param defines    macro → value, passed as {@code -Dmacro=value}
     * @param arch       e.g. {@code sm_90}
     * @throws CudaException with the kernel name, defines and the full NVRTC log if the compile fails
     */
    public byte[] compile(String sourceName, String kernelName, Map<String, String> defines, String arch) {
        return compileSource(readResource(sourceName), sourceName, kernelName, defines, arch);
    }

    /**
     * Like {@link #compile}, for source text that is not a resource (its {@code #include "x"} lines still
     * resolve from {@link #RESOURCE_DIR}).
     */
    public byte[] compileSource(String source, String sourceName, String kernelName, Map<String, String> defines, String arch) {
        Map<String, String> headers = headersOf(source, new LinkedHashMap<>());
        List<String> options = new ArrayList<>();
        options.add("--gpu-architecture=" + arch);
        options.add("--std=c++17");
        options.addAll(TUNING_OPTIONS);
        options.addAll(includeOptions);
        for (Map.Entry<String, String> e : new TreeMap<>(defines).entrySet()) {
            options.add("-D" + e.getKey() + "=" + e.getValue());
        }
        String key = hash(source, headers, options, nvrtc.version());
        Path cached = cacheDir.resolve(kernelName + "-" + key.substring(0, 24) + ".cubin");
        try {
            if (Files.isRegularFile(cached)) {
                return Files.readAllBytes(cached);
            }
        } catch (IOException e) {
            // fall through to a fresh compile
        }
        Nvrtc.Result r = nvrtc.compile(source, sourceName, headers, options);
        if (r.cubin() == null) {
            throw new CudaException("NVRTC " + nvrtc.version() + " failed to compile kernel " + kernelName + " ("
                    + sourceName + ", " + String.join(" ", options) + "): " + r.log().replace('\n', ' '));
        }
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, kernelName, ".tmp");
            Files.write(tmp, r.cubin());
            Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            // beside the cubin, what built it: the options one per line (reproducible with nvcc -cubin)
            Path opts = cacheDir.resolve(kernelName + "-" + key.substring(0, 24) + ".options");
            Path optsTmp = Files.createTempFile(cacheDir, kernelName, ".tmp");
            Files.writeString(optsTmp, sourceName + "\n" + String.join("\n", options) + "\n", StandardCharsets.UTF_8);
            Files.move(optsTmp, opts, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            // a read-only home only costs a recompile next time
        }
        return r.cubin();
    }

    /** The text of a kernel source resource. */
    public static String readResource(String name) {
        try (InputStream in = KernelCompiler.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + RESOURCE_DIR + name + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read kernel source " + name + ": " + e.getMessage(), e);
        }
    }

    /** Every {@code #include "x"} of {@code source}, transitively, as name → text. */
    static Map<String, String> headersOf(String source, Map<String, String> into) {
        Matcher m = INCLUDE.matcher(source);
        while (m.find()) {
            String h = m.group(1);
            if (!into.containsKey(h)) {
                String text = readResource(h);
                into.put(h, text);
                headersOf(text, into);
            }
        }
        return into;
    }

    private static String hash(String source, Map<String, String> headers, List<String> options, String version) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(source.getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, String> e : headers.entrySet()) {
                md.update(("\0" + e.getKey() + "\0" + e.getValue()).getBytes(StandardCharsets.UTF_8));
            }
            md.update(("\0" + String.join(" ", options) + "\0nvrtc " + version).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
