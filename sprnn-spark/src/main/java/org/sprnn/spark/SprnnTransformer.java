package org.sprnn.spark;

import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StructType;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.io.Untrusted;
import org.sprnn.model.CellType;

/**
 * A Spark ML {@link Transformer} that runs an sprnn model over a column of sequences and adds the outputs as a new
 * column. Each row holds one sequence: an {@code array<array<float|double>>} of {@code [T][I]}, or a binary column of
 * {@code T × I} little-endian float32 values; an optional integer column gives each sequence's length (PyTorch's
 * packed semantics: steps past it are padding). Each executor JVM loads the model once and keeps one engine for its
 * lifetime; rows are gathered into batches of {@link #batchSize()} inside each partition. With {@code engine=auto}
 * (the default) a task that Spark gave a GPU ({@code spark.task.resource.gpu.amount}) runs on that GPU, with the
 * engine {@code auto} picks for the model there; a task without one runs the {@code cpu} engine.
 *
 * <pre>{@code
 * Dataset<Row> scored = new SprnnTransformer()
 *     .setModelPath("/models/encoder.safetensors")
 *     .setInputCol("frames").setOutputCol("encoding").setOutputKind("last")
 *     .transform(spark.read().parquet("sequences.parquet"));
 * }</pre>
 *
 * A row that cannot be scored fails its task with a message naming the row (its index in the partition, and the
 * {@link #idCol()} value where one is set) and what is wrong with it; Spark retries a failed task
 * ({@code spark.task.maxFailures}, 4 on a cluster) and then fails the job: there is no option to skip bad rows. The
 * model is read on the executors when the first task runs, so a missing file fails the first job with rows, not
 * {@code transform}.
 */
public final class SprnnTransformer extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    /** The most rows one engine run takes (a run's values are bounded apart from this, per partition). */
    public static final int MAX_BATCH_SIZE = 65536;

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> lengthsCol;
    private final Param<String> idCol;
    private final Param<String> engine;
    private final Param<String> precision;
    private final Param<String> cell;
    private final Param<String> module;
    private final Param<String> outputKind;
    private final IntParam batchSize;

    /** A transformer with a random uid and the defaults (see each parameter). */
    public SprnnTransformer() {
        this("sprnn_" + UUID.randomUUID().toString().substring(0, 12));
    }

    /**
     * A transformer with the given uid (Spark ML's persistence calls this).
     *
     * @param uid the uid
     */
    public SprnnTransformer(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "the model file (.safetensors or .npz, PyTorch's state-dict names) at a local "
                + "path every executor can read (no file:// or hdfs:// URIs), or the name of a file shipped with spark-submit --files; "
                + "read again by a task when the file changes");
        inputCol = new Param<>(this, "inputCol", "the sequence column: array<array<float|double>> [T][I], or binary T x I float32 LE");
        outputCol = new Param<>(this, "outputCol", "the column added");
        lengthsCol = new Param<>(this, "lengthsCol", "optional integer column: each sequence's length (1..T); empty for none");
        idCol = new Param<>(this, "idCol", "optional column whose value names a row in error messages; empty for none");
        engine = new Param<>(this, "engine", "auto (the task's GPU if Spark gave it one, else cpu) or an engine name");
        precision = new Param<>(this, "precision", "GPU weight precision: fp16, bf16 or fp32");
        cell = new Param<>(this, "cell", "the cell where the model file does not say: rnn_tanh, rnn_relu, gru, lstm; empty to read it");
        module = new Param<>(this, "module", "the RNN's submodule in a whole model's state dict (PyTorch's name: rnn, encoder.rnn), "
                + "the file's other tensors ignored; empty for a file that holds one RNN");
        outputKind = new Param<>(this, "outputKind", "all (every step), last (the last step's output; for a bidirectional model its "
                + "reverse half has seen only that step) or state (final hidden states)");
        batchSize = new IntParam(this, "batchSize", "rows per engine run within a partition (1.." + MAX_BATCH_SIZE + ")");
        setDefault(inputCol, "sequence");
        setDefault(outputCol, "output");
        setDefault(lengthsCol, "");
        setDefault(idCol, "");
        setDefault(engine, "auto");
        setDefault(precision, "fp16");
        setDefault(cell, "");
        setDefault(module, "");
        setDefault(outputKind, "last");
        setDefault(batchSize, (Object) 32);
    }

    /** @return the {@code modelPath} parameter (no default) */
    public Param<String> modelPath() {
        return modelPath;
    }

    /** @return the {@code inputCol} parameter (default {@code sequence}) */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** @return the {@code outputCol} parameter (default {@code output}) */
    public Param<String> outputCol() {
        return outputCol;
    }

    /** @return the {@code lengthsCol} parameter (default none) */
    public Param<String> lengthsCol() {
        return lengthsCol;
    }

    /** @return the {@code idCol} parameter (default none) */
    public Param<String> idCol() {
        return idCol;
    }

    /** @return the {@code engine} parameter (default {@code auto}) */
    public Param<String> engine() {
        return engine;
    }

    /** @return the {@code precision} parameter (default {@code fp16}) */
    public Param<String> precision() {
        return precision;
    }

    /** @return the {@code module} parameter (default: empty, the file holds one RNN) */
    public Param<String> module() {
        return module;
    }

    /** @return the {@code cell} parameter (default: the model file's) */
    public Param<String> cell() {
        return cell;
    }

    /** @return the {@code outputKind} parameter (default {@code last}) */
    public Param<String> outputKind() {
        return outputKind;
    }

    /** @return the {@code batchSize} parameter (default 32) */
    public IntParam batchSize() {
        return batchSize;
    }

    /**
     * @param value the model file
     * @return this
     */
    public SprnnTransformer setModelPath(String value) {
        set(modelPath, value);
        return this;
    }

    /**
     * @param value the sequence column
     * @return this
     */
    public SprnnTransformer setInputCol(String value) {
        set(inputCol, value);
        return this;
    }

    /**
     * @param value the column to add
     * @return this
     */
    public SprnnTransformer setOutputCol(String value) {
        set(outputCol, value);
        return this;
    }

    /**
     * @param value the lengths column, or empty for none
     * @return this
     */
    public SprnnTransformer setLengthsCol(String value) {
        set(lengthsCol, value);
        return this;
    }

    /**
     * @param value the column naming rows in error messages, or empty for none
     * @return this
     */
    public SprnnTransformer setIdCol(String value) {
        set(idCol, value);
        return this;
    }

    /**
     * @param value {@code auto} or an engine name ({@code cpu}, {@code cuda-sparse-persistent}, ...)
     * @return this
     */
    public SprnnTransformer setEngine(String value) {
        set(engine, value);
        return this;
    }

    /**
     * @param value fp16, bf16 or fp32
     * @return this
     */
    public SprnnTransformer setPrecision(String value) {
        set(precision, value);
        return this;
    }

    /**
     * @param value the cell where the model file does not name it, or empty
     * @return this
     */
    public SprnnTransformer setCell(String value) {
        set(cell, value);
        return this;
    }

    /**
     * @param value the RNN's submodule in a whole model's state dict ({@code rnn}, {@code encoder.rnn}), or empty
     * @return this
     */
    public SprnnTransformer setModule(String value) {
        set(module, value);
        return this;
    }

    /**
     * @param value all, last or state
     * @return this
     */
    public SprnnTransformer setOutputKind(String value) {
        set(outputKind, value);
        return this;
    }

    /**
     * @param value rows per engine run (≥ 1)
     * @return this
     */
    public SprnnTransformer setBatchSize(int value) {
        set(batchSize, (Object) value);
        return this;
    }

    @Override
    public String uid() {
        return uid;
    }

    /**
     * Checks the parameters against the input schema and returns it with the output column added.
     *
     * @param schema the input DataFrame's schema
     * @return the output schema
     * @throws SprnnException naming the parameter or column that is wrong
     */
    @Override
    public StructType transformSchema(StructType schema) {
        if (!isDefined(modelPath) || $(modelPath) == null || $(modelPath).isBlank()) {
            throw new SprnnException("modelPath: not set");
        }
        for (Param<String> p : List.of(inputCol, outputCol, lengthsCol, idCol, engine, precision, cell, module, outputKind)) {
            if ($(p) == null) { // a setter given null (e.g. setLengthsCol(conf.get(...)) of a setting that is absent)
                throw new SprnnException(p.name() + ": null; give a value, or \"\" where the parameter allows none");
            }
        }
        if ($(outputCol).isBlank()) {
            throw new SprnnException("outputCol: an empty column name");
        }
        OutputKind kind = OutputKind.parse($(outputKind));
        int b = (Integer) $(batchSize);
        if (b < 1 || b > MAX_BATCH_SIZE) {
            throw new SprnnException("batchSize: must be 1.." + MAX_BATCH_SIZE + ", got " + b);
        }
        if (!$(engine).equals("auto")) {
            try {
                EngineProvider.factory($(engine)); // an unknown name fails here, naming the engines there are
            } catch (SprnnException e) {
                throw new SprnnException("engine: " + e.getMessage().replaceFirst("^--engine: ", ""), e);
            }
        }
        Precision.parse("precision", $(precision), EngineOptions.PRECISIONS);
        if (!$(cell).isEmpty()) {
            CellType.parse($(cell));
        }
        if (!$(module).isEmpty()) {
            org.sprnn.io.ModelFiles.moduleName($(module)); // a blank or over-long name refused here, not on the executors
        }
        DataType in = column(schema, $(inputCol), "inputCol").dataType();
        boolean nested = in instanceof ArrayType outer && outer.elementType() instanceof ArrayType inner
                && (inner.elementType().equals(DataTypes.FloatType) || inner.elementType().equals(DataTypes.DoubleType));
        if (!nested && !(in instanceof BinaryType)) {
            throw new SprnnException("inputCol " + Untrusted.quote($(inputCol), 80) + ": expected array<array<float>>, "
                    + "array<array<double>> or binary, got " + in.simpleString());
        }
        if (!$(lengthsCol).isEmpty()) {
            DataType t = column(schema, $(lengthsCol), "lengthsCol").dataType();
            if (!(t instanceof IntegerType || t instanceof LongType || t instanceof ShortType)) {
                throw new SprnnException("lengthsCol " + Untrusted.quote($(lengthsCol), 80) + ": expected an integer column, got " + t.simpleString());
            }
        }
        if (!$(idCol).isEmpty()) {
            column(schema, $(idCol), "idCol");
        }
        // unless spark.sql.caseSensitive is on, Spark resolves column names regardless of case: "ID" beside "id" would make
        // both ambiguous
        boolean caseSensitive = org.apache.spark.sql.internal.SQLConf.get().caseSensitiveAnalysis();
        if (Arrays.stream(schema.fieldNames()).anyMatch(f -> caseSensitive ? f.equals($(outputCol)) : f.equalsIgnoreCase($(outputCol)))) {
            throw new SprnnException("outputCol " + Untrusted.quote($(outputCol), 80) + ": the DataFrame already has that column"
                    + (caseSensitive ? "" : " (names compared regardless of case, as Spark resolves them here)"));
        }
        DataType vector = DataTypes.createArrayType(DataTypes.FloatType, false);
        DataType out = kind == OutputKind.LAST ? vector : DataTypes.createArrayType(vector, false);
        return schema.add($(outputCol), out, false);
    }

    private static org.apache.spark.sql.types.StructField column(StructType schema, String name, String param) {
        if (Arrays.stream(schema.fieldNames()).filter(name::equals).count() > 1) { // e.g. after a join
            throw new SprnnException(param + ": the DataFrame has " + Untrusted.quote(name, 80) + " more than once; rename or "
                    + "drop one");
        }
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new SprnnException(param + ": no column " + Untrusted.quote(name, 80) + " (the DataFrame has "
                    + Untrusted.quote(String.join(", ", schema.fieldNames()), 200) + ")");
        }
        return schema.apply(name);
    }

    /**
     * Adds the output column: each partition's rows scored batch by batch on its executor's engine.
     *
     * @param dataset the rows (see the class comment for the columns)
     * @return the rows with {@link #outputCol()} added, in the same order
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType schema = dataset.schema();
        StructType out = transformSchema(schema);
        String lengths = $(lengthsCol);
        String id = $(idCol);
        ScoreSpec spec = new ScoreSpec(key(), (Integer) $(batchSize), OutputKind.parse($(outputKind)), $(inputCol), schema.fieldIndex($(inputCol)),
                lengths.isEmpty() ? null : lengths, lengths.isEmpty() ? -1 : schema.fieldIndex(lengths),
                id.isEmpty() ? null : id, id.isEmpty() ? -1 : schema.fieldIndex(id));
        MapPartitionsFunction<Row, Row> score = rows -> new PartitionScorer(rows, spec, TaskContext.getPartitionId());
        return dataset.toDF().mapPartitions(score, Encoders.row(out));
    }

    /** What the executors' engine cache knows this transformer's engine by (tests look it up). */
    ExecutorEngines.Key key() {
        return new ExecutorEngines.Key($(modelPath), $(engine), $(precision), (Integer) $(batchSize), $(cell).isEmpty() ? null : $(cell),
                $(module).isEmpty() ? null : $(module), null);
    }

    /**
     * @param extra parameter values to override
     * @return a copy with the same uid and parameters
     */
    @Override
    public SprnnTransformer copy(ParamMap extra) {
        return (SprnnTransformer) defaultCopy(extra);
    }

    /**
     * Spark ML persistence: {@code SprnnTransformer.load(path)} reads what {@code write().save(path)} wrote.
     *
     * @return the reader
     */
    public static MLReader<SprnnTransformer> read() {
        return new DefaultParamsReader<>();
    }

    /**
     * Reads a transformer saved with {@code write().save(path)}.
     *
     * @param path where it was saved
     * @return the transformer
     */
    public static SprnnTransformer load(String path) {
        return read().load(path);
    }
}
