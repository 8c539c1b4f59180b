package example;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;

/**
 * Sample data for {@link ScoreSequences}: a pruned 2-layer LSTM (input 16, hidden 64, 20% of W_hh kept) as
 * {@code DIR/lstm.safetensors}, and {@code DIR/sequences.parquet} with 2000 sequences of 5 to 60 steps.
 */
public final class MakeSample {
    private MakeSample() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "sample");
        Files.createDirectories(dir);
        ModelFiles.save(SyntheticModels.random(CellType.LSTM, 16, 64, 2, 0.2, 1.0, 7), dir.resolve("lstm.safetensors"), Precision.FP32);
        Random r = new Random(1);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            int steps = 5 + r.nextInt(56);
            float[][] x = new float[steps][16];
            for (float[] step : x) {
                for (int k = 0; k < step.length; k++) {
                    step[k] = (float) r.nextGaussian();
                }
            }
            rows.add(RowFactory.create(String.format("s%05d", i), x, steps));
        }
        StructType schema = new StructType().add("id", DataTypes.StringType)
                .add("sequence", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType)))
                .add("len", DataTypes.IntegerType);
        SparkSession spark = SparkSession.builder().master("local[2]").appName("sprnn-make-sample").getOrCreate();
        try {
            spark.createDataFrame(rows, schema).repartition(4).write().mode("overwrite").parquet(dir.resolve("sequences.parquet").toString());
        } finally {
            spark.stop();
        }
        System.out.println("wrote " + dir.resolve("lstm.safetensors") + " and 2000 sequences to " + dir.resolve("sequences.parquet"));
    }
}
