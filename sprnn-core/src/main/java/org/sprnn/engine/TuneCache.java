package org.sprnn.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.Properties;
import org.sprnn.CacheDir;

/**
 * Measured µs per step from {@code sprnn explain --tune} trials, kept on disk per (device, engine, precision, cell,
 * layers, input and hidden size, density, batch): {@code $SPRNN_CACHE/tune.properties}, else
 * {@code ~/.cache/sprnn/tune.properties}. {@code auto} prefers these figures to the cost model's.
 *
 * <p>The file is a cache: one that is unreadable, too large (over 1 MiB) or holds a value that is not a positive
 * finite number is ignored entry by entry, never trusted and never fatal; writing goes to a temporary file moved
 * into place, so a reader never sees half a file.
 */
public final class TuneCache {
    static final long MAX_BYTES = 1 << 20;
    private final Path file;

    /**
     * The cache at {@code file}.
     *
     * @param file the properties file; it need not exist yet
     */
    public TuneCache(Path file) {
        this.file = file;
    }

    /**
     * The cache at its default place.
     *
     * @return the cache in {@link org.sprnn.CacheDir#root()}, file {@code tune.properties}
     */
    public static TuneCache standard() {
        return new TuneCache(CacheDir.root().resolve("tune.properties"));
    }

    /**
     * The file.
     *
     * @return the properties file the cache reads and writes
     */
    public Path file() {
        return file;
    }

    /**
     * The key of one trial's configuration.
     *
     * @param device the device's name (or {@code cpu})
     * @param engine the engine's name
     * @param options the run's options (precision, batch, ...)
     * @param model the model (cell, shape, density)
     * @return the key
     */
    public static String key(String device, String engine, EngineOptions options, org.sprnn.model.RnnModel model) {
        long nz = 0, all = 0;
        for (org.sprnn.model.Layer l : model.layers()) {
            nz += l.wHh().countNonZero();
            all += l.wHh().size();
        }
        return String.format(java.util.Locale.ROOT, "%s|%s|%s|%s|L%d|I%d|H%d|d%.4f|B%d%s", device, engine,
                options.precision().id(), model.cell().id(), model.layers().size(), model.inputSize(), model.hiddenSize(),
                all == 0 ? 0.0 : (double) nz / all, options.batchHint(), model.bidirectional() ? "|bidirectional" : "");
    }

    /**
     * The measured µs per step under that key, if the cache holds a usable one.
     *
     * @param key a key from {@link #key}
     * @return the figure, or empty where there is none or it cannot be read
     */
    public Optional<Double> get(String key) {
        String v = load().getProperty(key);
        if (v == null) {
            return Optional.empty();
        }
        try {
            double d = Double.parseDouble(v);
            return d > 0 && Double.isFinite(d) ? Optional.of(d) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Records a measurement. A cache that cannot be written (read-only home, full disk) is not an error of the
     * run that measured: the figure is then just not kept.
     *
     * @param key a key from {@link #key}
     * @param microsPerStep the measured µs per step
     * @return empty, or why the figure was not kept
     */
    public Optional<String> put(String key, double microsPerStep) {
        Properties p = load();
        p.setProperty(key, Double.toString(microsPerStep));
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            StringWriter w = new StringWriter();
            p.store(w, "sprnn explain --tune: measured us per step");
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".tune", ".tmp");
            try {
                Files.writeString(tmp, w.toString(), StandardCharsets.ISO_8859_1);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("the tuning cache " + file + " was not written: " + e.getMessage());
        }
    }

    private Properties load() {
        Properties p = new Properties();
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_BYTES) {
                return p;
            }
            try (InputStream in = Files.newInputStream(file)) {
                byte[] b = in.readNBytes((int) MAX_BYTES + 1);
                if (b.length > MAX_BYTES) {
                    return p;
                }
                try (Reader r = new StringReader(new String(b, StandardCharsets.ISO_8859_1))) {
                    p.load(r);
                }
            }
        } catch (IOException | RuntimeException e) {
            return new Properties(); // a damaged cache is no cache
        }
        return p;
    }
}
