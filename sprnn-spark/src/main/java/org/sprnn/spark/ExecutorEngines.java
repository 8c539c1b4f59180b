package org.sprnn.spark;

// One model and one engine per executor JVM and configuration, for the JVM's lifetime. Spark runs many tasks in
// an executor, one after the other and side by side (one per core); loading a model and building an engine (a
// GPU engine compiles its kernel and uploads its weights) costs far more than scoring one partition, so the
// first task of a configuration builds them and every later task of the JVM reuses them. Engines are not
// thread-safe: tasks take turns on an engine (the cpu engine uses every core of its own, the GPU is one device).

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Untrusted;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;

/** The executor JVM's engines, one per (model, engine, precision, batch, cell), built on first use, closed at exit. */
final class ExecutorEngines {
    /**
     * What a task asks for; equal keys share one engine.
     *
     * @param gpu the CUDA device ordinal of the task's GPU ({@link #forTask}), or null: one engine per device
     */
    record Key(String modelPath, String engine, String precision, int batch, String cell, String module, String gpu)
            implements java.io.Serializable {
        /** This key with the running task's GPU, where Spark gave it one (none for the {@code cpu} engines). */
        Key forTask() {
            String device = engine.startsWith("cpu") ? null : taskGpu();
            return device == null || device.equals(gpu) ? this : new Key(modelPath, engine, precision, batch, cell, module, device);
        }
    }

    /**
     * A loaded model and its engine; {@link #lock} is held while a task runs the engine. {@code stamp} is the model file's
     * identity when it was read (path, size, modification time); {@code retired} is set, under the lock, when the engine
     * is closed (its file changed, or it failed), so that a task that was waiting for the lock takes the new one instead.
     */
    record Loaded(RnnModel model, Engine engine, String engineName, String reason, ReentrantLock lock, String stamp,
                  java.util.concurrent.atomic.AtomicBoolean retired) {
    }

    private static final Map<Key, Loaded> LOADED = new ConcurrentHashMap<>();
    private static final Object BUILD = new Object();
    private static volatile boolean hookAdded;

    private ExecutorEngines() {
    }

    /**
     * The engine of {@code key}, built by the first caller in this JVM.
     *
     * @throws SprnnException if the model cannot be read or no engine can run it
     */
    static Loaded get(Key key) {
        Path file = resolve(key.modelPath());
        String stamp = stamp(file); // a model retrained and saved under the same path is read again, not served stale
        Loaded l = LOADED.get(key);
        if (l != null && l.stamp().equals(stamp)) {
            return l;
        }
        synchronized (BUILD) { // one build at a time: two tasks must not load the same model twice
            l = LOADED.get(key);
            if (l != null && l.stamp().equals(stamp)) {
                return l;
            }
            if (l != null) {
                evict(key, l); // waits for a task running it to finish
            }
            l = build(key, file, stamp);
            LOADED.put(key, l);
            addShutdownHook();
            return l;
        }
    }

    /** The file's identity for the cache: its real path, size and modification time. */
    private static String stamp(Path file) {
        try {
            var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
            return file.toRealPath() + "|" + a.size() + "|" + a.lastModifiedTime().toMillis() + "|" + a.fileKey();
        } catch (java.io.IOException | SecurityException e) {
            throw new SprnnException("modelPath: cannot read " + Untrusted.quote(file.toString()) + ": " + Untrusted.why(e));
        }
    }

    /** How many engines this JVM holds (tests: one per configuration, however many tasks ran). */
    static int count() {
        return LOADED.size();
    }

    private static Loaded build(Key key, Path file, String stamp) {
        RnnModel model = ModelFiles.load(file, key.cell() == null ? null : CellType.parse(key.cell()), key.module(), note -> { });
        String engine = key.engine();
        if (key.gpu() != null) {
            // the device the engine's context opens on; builds are one at a time (BUILD), so each sees its own
            System.setProperty(CudaContext.DEVICE_PROPERTY, key.gpu());
        } else if (engine.equals("auto")) {
            // no GPU given to this task: the cpu engine (auto would take a GPU that the executor sees but was not
            // given, and share it with another executor)
            engine = "cpu";
        }
        EngineOptions options = EngineOptions.builder().engine(engine)
                .precision(Precision.parse("precision", key.precision(), EngineOptions.PRECISIONS))
                .threads(executorCores()).batchHint(key.batch()).build();
        EngineSelection s = EngineProvider.select(model, options);
        return new Loaded(model, s.engine(), s.engine().name(), s.reason(), new ReentrantLock(), stamp,
                new java.util.concurrent.atomic.AtomicBoolean());
    }

    /** The model file: the path as given, else a file shipped with {@code spark-submit --files} of that name. */
    static Path resolve(String modelPath) {
        Path p = Path.of(modelPath);
        if (Files.isRegularFile(p)) {
            return p;
        }
        if (TaskContext.get() != null && p.getFileName() != null) {
            try {
                Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
                if (Files.isRegularFile(shipped)) {
                    return shipped;
                }
            } catch (RuntimeException e) {
                // no SparkFiles here: reported below
            }
        }
        throw new SprnnException("modelPath: no such file " + Untrusted.quote(modelPath)
                + " on this executor (give a path every executor can read, or ship it with spark-submit --files)");
    }

    /**
     * The cores this executor has ({@code spark.executor.cores}), for the {@code cpu} engine's threads: not every
     * core of the host, which other executors share; the host's processors where the setting is absent (local mode).
     */
    static int executorCores() {
        int host = Runtime.getRuntime().availableProcessors();
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        if (env == null || !env.conf().contains("spark.executor.cores")) {
            return host;
        }
        try {
            return Math.max(1, Math.min(host, Integer.parseInt(env.conf().get("spark.executor.cores").trim())));
        } catch (NumberFormatException e) {
            return host;
        }
    }

    /** The first GPU address Spark gave the running task ({@code spark.task.resource.gpu.amount}), or null. */
    static String taskGpu() {
        TaskContext tc = TaskContext.get();
        if (tc == null) {
            return null;
        }
        scala.Option<ResourceInformation> gpu = tc.resources().get("gpu");
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
            return null;
        }
        return gpu.get().addresses()[0];
    }

    /**
     * Drops an engine that failed (a fault may have left it unusable) or whose model file changed: the next task of its
     * key builds a new one. It is closed under its lock, so never while another task runs it; a task waiting for the lock
     * sees {@link Loaded#retired} and takes the new engine.
     */
    static void evict(Key key, Loaded loaded) {
        LOADED.remove(key, loaded);
        loaded.lock().lock();
        try {
            if (loaded.retired().compareAndSet(false, true)) {
                loaded.engine().close();
            }
        } catch (RuntimeException e) {
            // it failed already, or is being replaced: the task reports what matters
        } finally {
            loaded.lock().unlock();
        }
    }

    private static void addShutdownHook() {
        if (hookAdded) {
            return;
        }
        hookAdded = true;
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorEngines::closeAll, "sprnn-spark-close"));
    }

    /** Closes every engine (at JVM exit; tests call it to start afresh). */
    static void closeAll() {
        synchronized (BUILD) {
            for (Loaded l : LOADED.values()) {
                boolean held = false;
                try {
                    // a run still going (a hung device) must not keep the JVM from exiting
                    held = l.lock().tryLock(10, java.util.concurrent.TimeUnit.SECONDS);
                    if (held) {
                        l.engine().close();
                    }
                } catch (RuntimeException e) {
                    // closing at exit: nothing left to tell
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    if (held) {
                        l.lock().unlock();
                    }
                }
            }
            LOADED.clear();
        }
    }
}
