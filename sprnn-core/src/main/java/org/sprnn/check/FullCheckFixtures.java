package org.sprnn.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.check.FullCheckReport.Row;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npz;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.PlanOptions;

/**
 * Why this file exists: the fixtures section of {@code kernel-check --full}, the one check against PyTorch rather
 * than {@code cpu-reference}. It reads the golden fixtures that {@code scripts/make_golden.py} writes (a
 * {@code manifest.json} naming each case's model and npz arrays) and runs each through the engine with fp16 weights.
 */
final class FullCheckFixtures {
    private FullCheckFixtures() {
    }

    /** The PyTorch golden fixtures (manifest.json of scripts/make_golden.py) through the engine, fp16 weights, warps placed by {@code placement}. */
    static void fixtures(DeviceLimits limits, FullCheckReport report, Path dir, org.sprnn.sparse.WarpPlacement placement) {
        PlanOptions options = PlanOptions.defaults().withPlacement(placement);
        JsonNode manifest;
        try {
            manifest = new ObjectMapper().readTree(Files.readString(dir.resolve("manifest.json")));
        } catch (IOException e) {
            throw new SprnnException("kernel-check: --fixtures " + dir + ": cannot read manifest.json: " + e.getMessage());
        }
        for (JsonNode c : manifest.get("cases")) {
            String name = c.get("name").asText();
            String cell = c.get("cell").asText();
            String label = "golden " + name;
            try {
                JsonNode ov = c.get("cell_override");
                CellType override = ov == null || ov.isNull() ? null : CellType.parse(ov.asText());
                RnnModel model = ModelFiles.load(dir.resolve(c.get("model_file").asText()), override);
                Map<String, Tensor> arrays = Npz.read(dir.resolve(c.get("arrays_file").asText()));
                int batch = arrays.get("input").dim(1);
                String refusal = SparsePersistentEngine.refusal(model, batch, limits, options);
                if (refusal != null) {
                    boolean ok = FullCheckReport.refusedCorrectly(refusal);
                    report.add(new Row("fixtures", Precision.FP16, cell, label, "-", Double.NaN, ok ? "REFUSED" : "FAIL", refusal));
                    continue;
                }
                try (SparsePersistentEngine e = new SparsePersistentEngine(model, limits, options)) {
                    String kernel = e.plans(batch).get(0).spec().name();
                    RnnOutput got = e.run(arrays.get("input"), arrays.get("h0"), arrays.get("c0"));
                    RnnOutput want = new RnnOutput(arrays.get("output"), arrays.get("h_n"), model.cell().hasCellState() ? arrays.get("c_n") : null);
                    double err = RelativeError.of(got, want);
                    report.add(new Row("fixtures", Precision.FP16, cell, label, kernel, err, err <= Precision.FP16.tolerance() ? "PASS" : "FAIL",
                            "against PyTorch " + manifest.path("torch").asText("?")));
                }
            } catch (RuntimeException e) {
                report.add(new Row("fixtures", Precision.FP16, cell, label, "-", Double.NaN, "FAIL", FullCheckReport.oneLine(e)));
            }
        }
    }
}
