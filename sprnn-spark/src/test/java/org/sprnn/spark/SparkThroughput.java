package org.sprnn.spark;

// Not a test: the measurement of issue 18 (scripts/spark-throughput.sh runs it). Sequences per second through
// SprnnTransformer on Spark local mode against the library alone on the same sequences and batches, in one JVM,
// rounds alternated, medians reported; the difference per row is what Spark adds (Parquet decode, row conversion,
// scheduling).

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sprnn.Precision;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * {@code SparkThroughput OUT_DIR [ROWS] [ROUNDS]}: the table on stdout, rows in OUT_DIR/spark-throughput.csv. ROWS
 * sequences (default 20000) for the small model, a fifth of them for the larger one.
 */
public final class SparkThroughput {
    private SparkThroughput() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int rows = args.length > 1 ? Integer.parseInt(args[1]) : 20000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        Files.createDirectories(out);
        Path work = Files.createTempDirectory("sprnn-spark-throughput");
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sprnn-spark-throughput")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        StringBuilder csv = new StringBuilder("date,host_cpus,model,rows,steps,batch,way,round,seconds,sequences_per_s\n");
        System.out.printf(Locale.ROOT, "%-34s %6s %5s | %12s %12s | %8s %14s%n", "model", "steps", "batch", "library seq/s",
                "spark seq/s", "ratio", "spark µs/row more");
        int allRows = rows;
        int[][] configs = {{64, 50, 32, allRows}, {256, 50, 32, Math.max(1, allRows / 5)}};
        for (int[] c : configs) {
            int hidden = c[0], steps = c[1], batch = c[2], input = 16;
            rows = c[3];
            RnnModel model = SyntheticModels.random(CellType.LSTM, input, hidden, 2, 0.2, 1.0, 3);
            Path file = work.resolve("lstm" + hidden + ".safetensors");
            ModelFiles.save(model, file, Precision.FP32);
            float[][][] seqs = new float[rows][steps][input];
            Random r = new Random(hidden);
            List<Row> data = new ArrayList<>(rows);
            for (int i = 0; i < rows; i++) {
                for (float[] s : seqs[i]) {
                    for (int k = 0; k < input; k++) {
                        s[k] = (float) r.nextGaussian();
                    }
                }
                data.add(RowFactory.create(i, seqs[i]));
            }
            StructType schema = new StructType().add("id", DataTypes.IntegerType)
                    .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)));
            Path parquet = work.resolve("seq" + hidden + ".parquet");
            spark.createDataFrame(data, schema).repartition(2).write().parquet(parquet.toString());
            Dataset<Row> in = spark.read().parquet(parquet.toString());
            List<List<Row>> parts = in.javaRDD().glom().collect(); // the library gets the same batches the tasks make
            SprnnTransformer t = new SprnnTransformer().setModelPath(file.toString()).setEngine("cpu").setBatchSize(batch);
            String name = String.format(Locale.ROOT, "lstm 2x%d, input %d, 20%% W_hh", hidden, input);
            double[] lib = new double[rounds];
            double[] spk = new double[rounds];
            try (Engine engine = EngineProvider.select(model, EngineOptions.builder().engine("cpu").batchHint(batch).build()).engine()) {
                library(engine, parts, batch, steps, input); // warm-up
                t.transform(in).write().format("noop").mode("overwrite").save();
                for (int k = 0; k < rounds; k++) {
                    long t0 = System.nanoTime();
                    library(engine, parts, batch, steps, input);
                    lib[k] = (System.nanoTime() - t0) / 1e9;
                    t0 = System.nanoTime();
                    t.transform(in).write().format("noop").mode("overwrite").save();
                    spk[k] = (System.nanoTime() - t0) / 1e9;
                    for (String[] w : new String[][] {{"library", "" + lib[k]}, {"spark-local[2]", "" + spk[k]}}) {
                        double s = Double.parseDouble(w[1]);
                        csv.append(String.format(Locale.ROOT, "%s,%d,%s,%d,%d,%d,%s,%d,%.4f,%.1f%n", java.time.Instant.now(),
                                Runtime.getRuntime().availableProcessors(), name.replace(",", ";"), rows, steps, batch, w[0], k, s, rows / s));
                    }
                }
            }
            double l = median(lib), s = median(spk);
            System.out.printf(Locale.ROOT, "%-34s %6d %5d | %12.0f %12.0f | %8.2f %14.1f   (library %s s, spark %s s)%n", name, steps,
                    batch, rows / l, rows / s, s / l, (s - l) / rows * 1e6, fmt(lib), fmt(spk));
        }
        Files.writeString(out.resolve("spark-throughput.csv"), csv.toString());
        spark.stop();
    }

    /** Every batch of every partition through the engine, as the tasks batch them. */
    private static void library(Engine engine, List<List<Row>> parts, int batch, int steps, int input) {
        for (List<Row> part : parts) {
            for (int from = 0; from < part.size(); from += batch) {
                List<Row> rows = part.subList(from, Math.min(part.size(), from + batch));
                int n = rows.size();
                double[] x = new double[steps * n * input];
                for (int b = 0; b < n; b++) {
                    List<?> seq = rows.get(b).getList(1);
                    for (int t = 0; t < steps; t++) {
                        List<Object> step = scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Object>) seq.get(t));
                        for (int k = 0; k < input; k++) {
                            x[(t * n + b) * input + k] = (Float) step.get(k);
                        }
                    }
                }
                engine.run(new Tensor(new int[] {steps, n, input}, x), null, null);
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String fmt(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double x : v) {
            b.append(b.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2f", x));
        }
        return b.toString();
    }
}
