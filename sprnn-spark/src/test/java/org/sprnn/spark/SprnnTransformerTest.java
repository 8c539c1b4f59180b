package org.sprnn.spark;

// The transformer on Spark's local[2] (two task threads in this JVM, as two executor cores): a Parquet file of a
// few thousand sequences of different lengths scored batch by batch, each row's output equal bit for bit to the
// library's cpu engine run on that sequence alone; bad rows and bad parameters refused with the row or parameter
// named; one engine per configuration however many tasks ran.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class SprnnTransformerTest {
    static final int INPUT = 8;
    static final int HIDDEN = 24;
    static final int ROWS = 3000;

    static SparkSession spark;
    @TempDir
    static Path dir;
    static Path lstm;
    static Path parquet;
    static List<float[][]> sequences = new ArrayList<>();
    static List<Integer> lengths = new ArrayList<>();

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("sprnn-spark-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        RnnModel model = SyntheticModels.random(CellType.LSTM, INPUT, HIDDEN, 2, 0.3, 0.8, 11);
        lstm = dir.resolve("lstm.safetensors");
        ModelFiles.save(model, lstm, Precision.FP32);
        Random r = new Random(5);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            int steps = 1 + r.nextInt(24);
            float[][] x = new float[steps][INPUT];
            for (float[] step : x) {
                for (int k = 0; k < INPUT; k++) {
                    step[k] = (float) r.nextGaussian();
                }
            }
            int len = 1 + r.nextInt(steps); // a length at or before the end: the steps after it are padding
            sequences.add(x);
            lengths.add(len);
            rows.add(RowFactory.create("seq-" + i, x, len));
        }
        StructType schema = new StructType().add("id", DataTypes.StringType)
                .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)))
                .add("len", DataTypes.IntegerType);
        parquet = dir.resolve("sequences.parquet");
        spark.createDataFrame(rows, schema).repartition(4).write().parquet(parquet.toString());
    }

    @AfterAll
    static void stop() {
        ExecutorEngines.closeAll();
        if (spark != null) {
            spark.stop();
        }
    }

    /** The library alone: the cpu engine on one sequence, its first {@code len} steps. */
    static RnnOutput direct(Engine engine, float[][] x, int len) {
        double[] data = new double[len * INPUT];
        for (int t = 0; t < len; t++) {
            for (int k = 0; k < INPUT; k++) {
                data[t * INPUT + k] = x[t][k];
            }
        }
        return engine.run(new Tensor(new int[] {len, 1, INPUT}, data), null, null);
    }

    @Test
    void aBatchIsCutBeforeARowThatWouldPassTheBudgetAndARowAlonePastItIsRefusedNamed() {
        long saved = PartitionScorer.batchValueBudget;
        try {
            // 24 values a step (the output width); rows of 24 steps: two fit in 1200 values, three do not
            PartitionScorer.batchValueBudget = 1200;
            StructType schema = new StructType().add("id", DataTypes.StringType)
                    .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                rows.add(RowFactory.create("r" + i, new float[24][INPUT]));
            }
            List<Row> out = new SprnnTransformer().setModelPath(lstm.toString()).setBatchSize(16).setOutputKind("last")
                    .transform(spark.createDataFrame(rows, schema).coalesce(1)).collectAsList();
            assertThat(out).hasSize(7);
            List<Row> tooLong = List.of(RowFactory.create("long", new float[60][INPUT]));
            assertThatThrownBy(() -> new SprnnTransformer().setModelPath(lstm.toString()).setIdCol("id")
                    .transform(spark.createDataFrame(tooLong, schema).coalesce(1)).collectAsList())
                    .hasStackTraceContaining("row 0 of partition 0 (id='long'): 60 steps of 24 values are more than one run may hold (1200 values)");
        } finally {
            PartitionScorer.batchValueBudget = saved;
        }
    }

    /**
     * The library called directly on the batches the transformer makes: each partition's rows in order, {@code batch}
     * at a time, padded to the batch's longest sequence and run with the lengths; the outputs by row id.
     */
    static java.util.Map<String, double[][]> libraryOnTheSameBatches(List<List<Row>> partitions, int batch, Engine engine) {
        java.util.Map<String, double[][]> out = new java.util.HashMap<>();
        for (List<Row> part : partitions) {
            for (int from = 0; from < part.size(); from += batch) {
                List<Row> rows = part.subList(from, Math.min(part.size(), from + batch));
                int n = rows.size();
                int steps = rows.stream().mapToInt(r -> r.getList(1).size()).max().orElseThrow();
                double[] x = new double[steps * n * INPUT];
                int[] lens = new int[n];
                for (int b = 0; b < n; b++) {
                    int i = Integer.parseInt(rows.get(b).getString(0).substring(4));
                    float[][] seq = sequences.get(i);
                    lens[b] = lengths.get(i);
                    for (int t = 0; t < seq.length; t++) {
                        for (int k = 0; k < INPUT; k++) {
                            x[(t * n + b) * INPUT + k] = seq[t][k];
                        }
                    }
                }
                RnnOutput r = engine.run(new Tensor(new int[] {steps, n, INPUT}, x), null, null,
                        org.sprnn.engine.SequenceLengths.of(lens));
                for (int b = 0; b < n; b++) {
                    double[][] y = new double[lens[b]][HIDDEN];
                    for (int t = 0; t < lens[b]; t++) {
                        for (int j = 0; j < HIDDEN; j++) {
                            y[t][j] = r.output().data()[(t * n + b) * HIDDEN + j];
                        }
                    }
                    out.put(rows.get(b).getString(0), y);
                }
            }
        }
        return out;
    }

    @Test
    void everyRowOfAParquetFileIsScoredBitForBitAsTheLibraryScoresIt() {
        ExecutorEngines.closeAll();
        Dataset<Row> in = spark.read().parquet(parquet.toString());
        Dataset<Row> out = new SprnnTransformer().setModelPath(lstm.toString()).setLengthsCol("len").setIdCol("id")
                .setOutputKind("all").setBatchSize(16).transform(in);
        List<Row> rows = out.collectAsList();
        assertThat(rows).hasSize(ROWS);
        assertThat(out.schema().fieldNames()).containsExactly("id", "sequence", "len", "output");
        RnnModel model = ModelFiles.load(lstm, null);
        try (Engine cpu = EngineProvider.select(model, EngineOptions.builder().engine("cpu").batchHint(16).build()).engine()) {
            java.util.Map<String, double[][]> same = libraryOnTheSameBatches(in.javaRDD().glom().collect(), 16, cpu);
            double worst = 0;
            for (Row row : rows) {
                String id = row.getString(0);
                int i = Integer.parseInt(id.substring(4));
                int len = lengths.get(i);
                double[][] expect = same.get(id);
                RnnOutput alone = direct(cpu, sequences.get(i), len);
                assertThat(row.getList(3)).as("row %d", i).hasSize(len);
                for (int t = 0; t < len; t++) {
                    List<Object> y = scala.jdk.javaapi.CollectionConverters.asJava(row.<scala.collection.Seq<Object>>getList(3).get(t));
                    for (int j = 0; j < HIDDEN; j++) {
                        float got = (Float) y.get(j);
                        assertThat(Float.floatToIntBits(got)).as("row %d step %d unit %d", i, t, j)
                                .isEqualTo(Float.floatToIntBits((float) expect[t][j]));
                        worst = Math.max(worst, Math.abs(got - alone.output().data()[t * HIDDEN + j]));
                    }
                }
            }
            // the cpu engine's last bits depend on the batch a sequence runs in (its vector loops run across the
            // batch), so the same sequence alone lands within float32 rounding, not bit for bit
            assertThat(worst).isLessThan(1e-5);
        }
        assertThat(ExecutorEngines.count()).as("one engine for all the tasks of one configuration").isEqualTo(1);
    }

    @Test
    void aBidirectionalModelGivesBothHalvesAndEveryLayerDirectionState() {
        RnnModel bi = SyntheticModels.randomBidirectional(CellType.GRU, INPUT, 12, 2, 0.5, 1.0, 4);
        Path file = dir.resolve("bigru.safetensors");
        ModelFiles.save(bi, file, Precision.FP32);
        StructType schema = new StructType().add("n", DataTypes.IntegerType)
                .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(RowFactory.create(i, sequences.get(i)));
        }
        Dataset<Row> in = spark.createDataFrame(rows, schema).repartition(2);
        SprnnTransformer t = new SprnnTransformer().setModelPath(file.toString()).setBatchSize(8);
        List<Row> all = t.setOutputKind("all").transform(in).collectAsList();
        List<Row> state = t.setOutputKind("state").transform(in).collectAsList();
        try (Engine cpu = EngineProvider.select(bi, EngineOptions.builder().engine("cpu").build()).engine()) {
            for (Row row : all) {
                int i = row.getInt(0);
                float[][] x = sequences.get(i);
                RnnOutput ref = direct(cpu, x, x.length);
                assertThat(row.getList(2)).hasSize(x.length);
                for (int step = 0; step < x.length; step++) {
                    List<Object> y = scala.jdk.javaapi.CollectionConverters.asJava(row.<scala.collection.Seq<Object>>getList(2).get(step));
                    assertThat(y).hasSize(24); // [forward | reverse]
                    for (int j = 0; j < 24; j++) {
                        assertThat((double) (Float) y.get(j)).isCloseTo(ref.output().data()[step * 24 + j], within(1e-5));
                    }
                }
            }
            for (Row row : state) {
                RnnOutput ref = direct(cpu, sequences.get(row.getInt(0)), sequences.get(row.getInt(0)).length);
                assertThat(row.getList(2)).hasSize(4); // layer 0 forward, layer 0 reverse, layer 1 forward, layer 1 reverse
                for (int l = 0; l < 4; l++) {
                    List<Object> h = scala.jdk.javaapi.CollectionConverters.asJava(row.<scala.collection.Seq<Object>>getList(2).get(l));
                    for (int j = 0; j < 12; j++) {
                        assertThat((double) (Float) h.get(j)).isCloseTo(ref.hN().data()[l * 12 + j], within(1e-5));
                    }
                }
            }
        }
    }

    @Test
    void lastStepAndFinalStatesMatchTheLibraryAndBinaryInputReadsAsArrays() {
        // (bit for bit on the same batches is the test above; here each sequence alone, to float32 rounding)
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            float[][] x = sequences.get(i);
            ByteBuffer b = ByteBuffer.allocate(x.length * INPUT * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] step : x) {
                for (float v : step) {
                    b.putFloat(v);
                }
            }
            rows.add(RowFactory.create(i, b.array()));
        }
        StructType schema = new StructType().add("n", DataTypes.IntegerType).add("frames", DataTypes.BinaryType);
        Dataset<Row> in = spark.createDataFrame(rows, schema).repartition(3);
        SprnnTransformer t = new SprnnTransformer().setModelPath(lstm.toString()).setInputCol("frames").setBatchSize(7);
        List<Row> last = t.copy(new org.apache.spark.ml.param.ParamMap()).setOutputKind("last").setOutputCol("y").transform(in).collectAsList();
        List<Row> state = t.setOutputKind("state").setOutputCol("h").transform(in).collectAsList();
        RnnModel model = ModelFiles.load(lstm, null);
        try (Engine cpu = EngineProvider.select(model, EngineOptions.builder().engine("cpu").build()).engine()) {
            for (Row row : last) {
                int i = row.getInt(0);
                float[][] x = sequences.get(i);
                RnnOutput ref = direct(cpu, x, x.length);
                List<Object> y = row.getList(2);
                for (int j = 0; j < HIDDEN; j++) {
                    assertThat((double) (Float) y.get(j)).isCloseTo(ref.output().data()[(x.length - 1) * HIDDEN + j], within(1e-5));
                }
            }
            for (Row row : state) {
                int i = row.getInt(0);
                RnnOutput ref = direct(cpu, sequences.get(i), sequences.get(i).length);
                List<?> layers = row.getList(2);
                assertThat(layers).hasSize(2);
                for (int l = 0; l < 2; l++) {
                    List<Object> h = scala.jdk.javaapi.CollectionConverters.asJava(row.<scala.collection.Seq<Object>>getList(2).get(l));
                    for (int j = 0; j < HIDDEN; j++) {
                        assertThat((double) (Float) h.get(j)).isCloseTo(ref.hN().data()[l * HIDDEN + j], within(1e-5));
                    }
                }
            }
        }
    }

    @Test
    void aBadRowFailsItsTaskNamingTheRowAndWhatIsWrong() {
        StructType schema = new StructType().add("id", DataTypes.StringType)
                .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType)));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            double[][] x = new double[3][INPUT];
            if (i == 13) {
                x[1] = new double[INPUT - 1];
            }
            rows.add(RowFactory.create("r" + i, x));
        }
        Dataset<Row> in = spark.createDataFrame(rows, schema).coalesce(1);
        SprnnTransformer t = new SprnnTransformer().setModelPath(lstm.toString()).setIdCol("id").setBatchSize(4);
        assertThatThrownBy(() -> t.transform(in).collectAsList())
                .hasStackTraceContaining("sprnn-spark: row 13 of partition 0 (id='r13'): sequence step 1 has 7 values, the model takes 8 inputs");
        List<Row> nan = List.of(RowFactory.create("a", new double[][] {{Double.NaN, 0, 0, 0, 0, 0, 0, 0}}));
        assertThatThrownBy(() -> t.transform(spark.createDataFrame(nan, schema).coalesce(1)).collectAsList())
                .hasStackTraceContaining("row 0 of partition 0 (id='a'): sequence step 0 value 0 is NaN");
    }

    @Test
    void aRowWhoseValuesOverflowTheModelIsNamedAndTheEngineKept() {
        RnnModel relu = SyntheticModels.random(CellType.RNN_RELU, INPUT, HIDDEN, 1, 0.5, 1.0, 3);
        Path file = dir.resolve("relu-overflow.safetensors");
        ModelFiles.save(relu, file, Precision.FP32);
        StructType schema = new StructType().add("id", DataTypes.StringType)
                .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            float[][] x = new float[2][INPUT];
            if (i == 5) {
                java.util.Arrays.fill(x[0], 3.4e38f); // finite, but W_ih x overflows float32
            }
            rows.add(RowFactory.create("r" + i, x));
        }
        SprnnTransformer t = new SprnnTransformer().setModelPath(file.toString()).setIdCol("id").setBatchSize(8).setEngine("cpu");
        ExecutorEngines.Loaded before = ExecutorEngines.get(t.key()); // the engine the jobs below run on
        assertThatThrownBy(() -> t.transform(spark.createDataFrame(rows, schema).coalesce(1)).collectAsList())
                .hasStackTraceContaining("row 5 of partition 0 (id='r5'): its values, with the model's weights, leave the range cpu "
                        + "computes in (batch element 5 of this run: overflow");
        assertThat(before.doomed().get()).as("not dropped: the row was at fault").isNull();
        assertThat(ExecutorEngines.get(t.key())).isSameAs(before);
        assertThat(t.transform(spark.createDataFrame(rows.subList(0, 5), schema).coalesce(1)).count()).isEqualTo(5);
        assertThat(ExecutorEngines.get(t.key())).isSameAs(before);
    }

    @Test
    void aModelSavedAgainUnderTheSamePathIsReadAgain() throws Exception {
        Path file = dir.resolve("retrained.safetensors");
        StructType schema = new StructType().add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
        List<Row> one = List.of(RowFactory.create((Object) new float[][] {{1, 2, 3, 4, 5, 6, 7, 8}}));
        SprnnTransformer t = new SprnnTransformer().setModelPath(file.toString()).setEngine("cpu").setBatchSize(1);
        List<float[]> outs = new ArrayList<>();
        for (long seed : new long[] {1, 2}) {
            ModelFiles.save(SyntheticModels.random(CellType.GRU, INPUT, HIDDEN, 1, 0.5, 1.0, seed), file, Precision.FP32);
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(1_000_000L * seed)); // coarse clocks
            Row r = t.transform(spark.createDataFrame(one, schema)).collectAsList().get(0);
            List<Float> v = r.getList(1);
            float[] f = new float[v.size()];
            for (int k = 0; k < f.length; k++) {
                f[k] = v.get(k);
            }
            outs.add(f);
        }
        assertThat(outs.get(1)).isNotEqualTo(outs.get(0));
        try (Engine e = EngineProvider.factory("cpu").create(ModelFiles.load(file, null), EngineOptions.builder().build())) {
            double[] want = direct(e, new float[][] {{1, 2, 3, 4, 5, 6, 7, 8}}, 1).output().data();
            for (int k = 0; k < want.length; k++) {
                assertThat((double) outs.get(1)[k]).isCloseTo(want[k], within(1e-6));
            }
        }
    }

    @Test
    void anEngineIsClosedOnlyWhenNoTaskRunsItAndWaitersTakeItsSuccessorOrFail() throws Exception {
        SprnnTransformer t = new SprnnTransformer().setModelPath(lstm.toString()).setEngine("cpu").setBatchSize(3);
        ExecutorEngines.Key key = t.key();
        ExecutorEngines.Loaded first = ExecutorEngines.get(key);
        // a task runs the engine; another's run failed on it: dropped at once, without waiting, but not closed under the run
        ExecutorEngines.Loaded running = ExecutorEngines.acquire(key, first, "task A");
        Thread other = new Thread(() -> ExecutorEngines.evict(key, first, ExecutorEngines.FAILED)); // another task's failure
        other.start();
        other.join(10_000);
        assertThat(other.isAlive()).as("evict does not wait for task A").isFalse();
        assertThat(first.doomed().get()).isEqualTo(ExecutorEngines.FAILED);
        assertThat(first.retired().get()).as("not closed while task A runs it").isFalse();
        // task B waits for the engine meanwhile
        java.util.concurrent.atomic.AtomicReference<ExecutorEngines.Loaded> taken = new java.util.concurrent.atomic.AtomicReference<>();
        Thread b = new Thread(() -> {
            ExecutorEngines.Loaded l = ExecutorEngines.acquire(key, first, "task B");
            taken.set(l);
            ExecutorEngines.release(l);
        });
        b.start();
        b.join(300);
        assertThat(b.isAlive()).as("task B waits for task A's run").isTrue();
        ExecutorEngines.release(running); // task A's run ends: it closes the dropped engine
        b.join(10_000);
        assertThat(first.retired().get()).isTrue();
        assertThat(taken.get()).as("task B runs the successor").isNotNull().isNotSameAs(first);
        assertThat(taken.get().retired().get()).isFalse();
        // dropped because its file changed: a task that was using it fails (Spark retries it) instead of mixing two models
        ExecutorEngines.Loaded second = taken.get();
        ExecutorEngines.evict(key, second, ExecutorEngines.FILE_CHANGED);
        assertThat(second.retired().get()).as("closed at once: no task runs it").isTrue();
        assertThatThrownBy(() -> ExecutorEngines.acquire(key, second, "task C"))
                .hasMessageStartingWith("task C: the model file changed while this task was scoring its partition");
    }

    @Test
    void badParametersAndColumnsAreRefusedOnTheDriverNamingThem() {
        Dataset<Row> in = spark.read().parquet(parquet.toString());
        assertThatThrownBy(() -> new SprnnTransformer().transform(in)).hasMessage("modelPath: not set");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setInputCol("nope").transform(in))
                .hasMessageStartingWith("inputCol: no column 'nope'");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setInputCol("id").transform(in))
                .hasMessageContaining("expected array<array<float>>, array<array<double>> or binary, got string");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setLengthsCol("id").transform(in))
                .hasMessageContaining("lengthsCol 'id': expected an integer column");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setOutputCol("len").transform(in))
                .hasMessageContaining("already has that column");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setOutputKind("every").transform(in))
                .hasMessageContaining("outputKind: expected all, last or state");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setBatchSize(0).transform(in))
                .hasMessageContaining("batchSize: must be 1..65536, got 0");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setBatchSize(Integer.MAX_VALUE).transform(in))
                .hasMessageContaining("batchSize: must be 1..65536");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setOutputCol("ID").transform(in))
                .hasMessageContaining("outputCol 'ID': the DataFrame already has that column (names compared regardless of case");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setOutputCol("").transform(in))
                .hasMessage("outputCol: an empty column name");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath(null).transform(in)).hasMessage("modelPath: not set");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setLengthsCol(null).transform(in))
                .isInstanceOf(org.sprnn.SprnnException.class).hasMessageStartingWith("lengthsCol: null");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setEngine(null).transform(in))
                .isInstanceOf(org.sprnn.SprnnException.class).hasMessageStartingWith("engine: null");
        Dataset<Row> twice = in.select(in.col("id"), in.col("sequence"), in.col("sequence"));
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").transform(twice))
                .hasMessageContaining("inputCol: the DataFrame has 'sequence' more than once");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setEngine("cuda-fast").transform(in))
                .hasMessageStartingWith("engine: unknown engine 'cuda-fast'");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setPrecision("fp8").transform(in))
                .hasMessageContaining("precision");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath("m").setCell("rnn").transform(in))
                .hasMessageContaining("rnn");
        Path missing = dir.resolve("missing.safetensors");
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath(missing.toString()).transform(in).count())
                .hasStackTraceContaining("modelPath: no such file");
    }

    @Test
    void theRnnOfAWholeModelsStateDictIsReadWithModule() {
        java.util.Map<String, Tensor> sd = new java.util.TreeMap<>();
        ModelFiles.toStateDict(ModelFiles.load(lstm, null)).forEach((k, v) -> sd.put("encoder.rnn." + k, v));
        sd.put("head.weight", Tensor.zeros(3, HIDDEN));
        Path whole = dir.resolve("whole.safetensors");
        org.sprnn.io.Safetensors.write(whole, sd, java.util.Map.of("cell", "lstm"), Precision.FP32);
        Dataset<Row> in = spark.read().parquet(parquet.toString()).limit(50);
        List<Row> plain = new SprnnTransformer().setModelPath(lstm.toString()).setOutputKind("last").transform(in)
                .orderBy("id").collectAsList();
        List<Row> picked = new SprnnTransformer().setModelPath(whole.toString()).setModule("encoder.rnn").setOutputKind("last")
                .transform(in).orderBy("id").collectAsList();
        assertThat(picked).hasSize(50).isEqualTo(plain);
        assertThatThrownBy(() -> new SprnnTransformer().setModelPath(whole.toString()).transform(in).count())
                .hasStackTraceContaining("name its module: 'encoder.rnn' (sprnn --module, Spark setModule)");
    }

    @Test
    void aSavedTransformerLoadsWithItsParameters() throws Exception {
        Path saved = dir.resolve("saved");
        SprnnTransformer t = new SprnnTransformer().setModelPath(lstm.toString()).setOutputKind("state").setBatchSize(9);
        t.write().save(saved.toString());
        SprnnTransformer back = SprnnTransformer.load(saved.toString());
        assertThat(back.uid()).isEqualTo(t.uid());
        assertThat(back.getOrDefault(back.batchSize())).isEqualTo(9);
        assertThat(back.getOrDefault(back.outputKind())).isEqualTo("state");
        assertThat(Files.exists(saved.resolve("metadata"))).isTrue();
    }
}
