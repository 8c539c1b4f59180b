package example;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sprnn.spark.SprnnTransformer;

/**
 * The Spark job: reads sequences from Parquet (columns {@code id}, {@code sequence} as {@code array<array<float>>}
 * [T][I], {@code len}), adds the model's output at each sequence's last step as column {@code encoding}, writes
 * Parquet.
 *
 * <pre>
 * spark-submit --class example.ScoreSequences target/sprnn-spark-example.jar MODEL IN.parquet OUT.parquet [BATCH]
 * </pre>
 */
public final class ScoreSequences {
    private ScoreSequences() {
    }

    public static void main(String[] args) {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: ScoreSequences MODEL IN.parquet OUT.parquet [BATCH]");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("sprnn-score-sequences").getOrCreate();
        try {
            Dataset<Row> in = spark.read().parquet(args[1]);
            SprnnTransformer sprnn = new SprnnTransformer()
                    .setModelPath(args[0])           // every executor reads it (or ship it: spark-submit --files)
                    .setInputCol("sequence").setLengthsCol("len").setIdCol("id")
                    .setOutputCol("encoding").setOutputKind("last")
                    .setBatchSize(args.length > 3 ? Integer.parseInt(args[3]) : 32);
            sprnn.transform(in).drop("sequence").write().mode("overwrite").parquet(args[2]);
            long n = spark.read().parquet(args[2]).count();
            Row first = spark.read().parquet(args[2]).orderBy("id").first();
            System.out.printf("scored %d sequences into %s; %s: %d values, first %s%n", n, args[2], first.getString(0),
                    first.getList(2).size(), first.getList(2).get(0));
            if (n != in.count()) {
                System.err.println("ScoreSequences: wrote " + n + " rows for " + in.count() + " sequences");
                System.exit(1);
            }
        } finally {
            spark.stop();
        }
    }
}
