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
     * identity when it was read (real path, size, modification time, file key). {@code doomed} is set, without waiting,
     * when the engine is dropped ({@link #FILE_CHANGED}, {@link #FAILED}, {@link #CLOSING}); whoever holds or next takes
     * its lock then closes it and sets {@code retired} ({@link #retire}), so no engine is closed while a task runs it and
     * no thread waits for a running task while it holds anything else.
     */
    record Loaded(RnnModel model, Engine engine, String engineName, String reason, ReentrantLock lock, String stamp,
                  java.util.concurrent.atomic.AtomicReference<String> doomed, java.util.concurrent.atomic.AtomicBoolean retired) {
    }

    /** Why an engine was dropped: its model file changed (a task that was using it fails, and Spark retries it). */
    static final String FILE_CHANGED = "the model file changed";
    /** Why an engine was dropped: a run failed for the engine's own reasons (a task waiting for it takes a new one). */
    static final String FAILED = "a run on it failed";
    /** Why an engine was dropped: the JVM is closing them all. */
    static final String CLOSING = "the executor is closing its engines";

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
            stamp = stamp(file); // again: the file may have changed while this thread waited for another's build
            l = LOADED.get(key);
            if (l != null && l.stamp().equals(stamp)) {
                return l;
            }
            if (l != null) {
                evict(key, l, FILE_CHANGED); // never waits: a task running it closes it when its run ends
            }
            l = build(key, file, stamp);
            LOADED.put(key, l);
            addShutdownHook();
            return l;
        }
    }

    /**
     * {@code loaded} with its lock held, for a run. Where it was dropped meanwhile: closed here (its lock is free now),
     * and for {@link #FAILED} the engine that replaced it is taken instead; for {@link #FILE_CHANGED} or
     * {@link #CLOSING} this task fails naming why, so that no partition is scored by two models (Spark retries it).
     *
     * @throws SprnnException as said, or if interrupted while waiting
     */
    static Loaded acquire(Key key, Loaded loaded, String where) {
        while (true) {
            try {
                loaded.lock().lockInterruptibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SprnnException(where + ": the task was interrupted waiting for the engine", e);
            }
            String why = loaded.doomed().get();
            if (why == null) {
                return loaded;
            }
            retire(loaded);
            loaded.lock().unlock();
            Loaded next = why.equals(FAILED) ? get(key) : null;
            if (next == null || !next.stamp().equals(loaded.stamp())) {
                throw new SprnnException(where + ": " + (next == null ? why : FILE_CHANGED) + " while this task was scoring its "
                        + "partition (" + Untrusted.quote(key.modelPath(), 120) + "); Spark retries the task");
            }
            loaded = next;
        }
    }

    /** Ends a run: releases the lock, closing the engine first where it was dropped while the run went on. */
    static void release(Loaded loaded) {
        try {
            if (loaded.doomed().get() != null) {
                retire(loaded);
            }
        } finally {
            loaded.lock().unlock();
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
                new java.util.concurrent.atomic.AtomicReference<>(), new java.util.concurrent.atomic.AtomicBoolean());
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
     * Drops an engine, without waiting for a task that runs it: out of the cache at once (the next task of its key builds
     * a new one), closed now where its lock is free (or held by this thread), else by the task holding it when its run
     * ends ({@link #release}) or by the next to take it ({@link #acquire}).
     */
    static void evict(Key key, Loaded loaded, String why) {
        LOADED.remove(key, loaded);
        loaded.doomed().compareAndSet(null, why);
        if (loaded.lock().tryLock()) {
            try {
                retire(loaded);
            } finally {
                loaded.lock().unlock();
            }
        }
    }

    /** Closes a dropped engine, once; the caller holds its lock. */
    private static void retire(Loaded loaded) {
        if (loaded.retired().compareAndSet(false, true)) {
            try {
                loaded.engine().close();
            } catch (RuntimeException e) {
                // it failed already, or is being replaced: the task reports what matters
            }
        }
    }

    private static void addShutdownHook() {
        if (hookAdded) {
            return;
        }
        hookAdded = true;
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorEngines::closeAll, "sprnn-spark-close"));
    }

    /** Closes every engine (at JVM exit; tests call it to start afresh); one a task still runs is closed by that task. */
    static void closeAll() {
        synchronized (BUILD) {
            for (Map.Entry<Key, Loaded> e : LOADED.entrySet()) {
                evict(e.getKey(), e.getValue(), CLOSING); // a run still going (a hung device) must not keep the JVM from exiting
            }
            LOADED.clear();
        }
    }
}
