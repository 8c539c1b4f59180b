package org.sprnn.io;

// PyTorch agreement: every CPU engine against fixtures that scripts/make_golden.py wrote with PyTorch
// (float64, on weights already rounded to the file's dtype). Reads the fixtures through the same
// ModelFiles/Npz code the CLI uses, so the readers are tested against files numpy and a hand-written
// safetensors writer produced, not only against our own writer. The manifest's batch_first_cases were
// run by PyTorch with batch_first=True and go through EngineProvider.select with
// EngineOptions.batchFirst, as a user's batch-first data would. Regenerate the fixtures with
// /usr/bin/python3 scripts/make_golden.py (a rerun rewrites identical bytes).

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.Precision;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

class GoldenTest {

    private static final double TOLERANCE = 1e-5;

    static Path goldenDir() {
        try {
            return Path.of(GoldenTest.class.getResource("/golden/manifest.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<JsonNode> cases() throws IOException {
        return cases("cases");
    }

    /** The manifest's list under {@code key}: {@code cases} (sequence-first) or {@code batch_first_cases}. */
    static List<JsonNode> cases(String key) throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(goldenDir().resolve("manifest.json").toFile());
        List<JsonNode> cases = new ArrayList<>();
        manifest.get(key).forEach(cases::add);
        return cases;
    }

    static Stream<Arguments> caseAndEngine() throws IOException {
        return caseAndEngine(cases());
    }

    static Stream<Arguments> batchFirstCaseAndEngine() throws IOException {
        return caseAndEngine(cases("batch_first_cases"));
    }

    private static Stream<Arguments> caseAndEngine(List<JsonNode> cases) {
        List<EngineFactory> cpu = EngineProvider.factories().stream().filter(f -> f.name().startsWith("cpu")).toList();
        assertThat(cpu).as("CPU engines in EngineProvider.factories()").isNotEmpty();
        List<Arguments> args = new ArrayList<>();
        for (JsonNode c : cases) {
            for (EngineFactory f : cpu) {
                args.add(Arguments.of(c.get("name").asText(), f.name(), c));
            }
        }
        return args.stream();
    }

    @Test
    void fixturesCoverWhatTheIssueAsksForInUnderTwoMegabytes() throws IOException {
        List<JsonNode> cs = cases();
        java.util.function.Function<String, java.util.Set<String>> values = key -> cs.stream()
                .map(c -> c.has(key) ? c.get(key).asText() : "").collect(java.util.stream.Collectors.toSet());
        assertThat(values.apply("cell")).containsExactlyInAnyOrder("rnn_relu", "rnn_tanh", "gru", "lstm");
        assertThat(values.apply("layers")).contains("1", "2", "3");
        assertThat(values.apply("states")).contains("zero", "given");
        assertThat(values.apply("dtype")).contains("F32", "F16", "BF16");
        assertThat(values.apply("prefix")).contains("", "rnn.");
        assertThat(values.apply("bias")).contains("false");
        assertThat(values.apply("hidden")).contains("97");
        assertThat(values.apply("input")).contains("33");
        assertThat(cs).anyMatch(c -> c.get("batch").asInt() == 1).anyMatch(c -> c.get("batch").asInt() > 1);
        assertThat(cs).anyMatch(c -> c.get("density").asDouble() <= 0.01).anyMatch(c -> c.get("density").asDouble() == 1.0);
        List<JsonNode> bf = cases("batch_first_cases");
        assertThat(bf).as("batch_first=True cases").isNotEmpty()
                .allMatch(c -> c.get("batch_first").asBoolean() && c.get("batch").asInt() != c.get("steps").asInt())
                .anyMatch(c -> c.get("cell").asText().equals("lstm") && c.get("layers").asInt() > 1 && c.get("states").asText().equals("given"));
        long bytes;
        try (Stream<Path> files = java.nio.file.Files.list(goldenDir())) {
            bytes = files.mapToLong(p -> p.toFile().length()).sum();
        }
        assertThat(bytes).as("golden fixtures in bytes").isLessThan(2_000_000L);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("caseAndEngine")
    void matchesPyTorch(String name, String engineName, JsonNode c) {
        matches(name, engineName, c, false);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("batchFirstCaseAndEngine")
    void batchFirstMatchesPyTorch(String name, String engineName, JsonNode c) {
        matches(name, engineName, c, true);
    }

    /** One case on one engine; batch-first cases through EngineProvider.select with batchFirst. */
    private static void matches(String name, String engineName, JsonNode c, boolean batchFirst) {
        Path dir = goldenDir();
        CellType override = c.get("cell_override").isNull() ? null : CellType.parse(c.get("cell_override").asText());
        RnnModel model = ModelFiles.load(dir.resolve(c.get("model_file").asText()), override);
        Map<String, Tensor> arrays = Npz.read(dir.resolve(c.get("arrays_file").asText()));
        String what = "golden case " + name + " (" + c + ") on " + engineName + ", tolerance " + TOLERANCE;

        assertThat(model.cell().id()).as(what).isEqualTo(c.get("cell").asText());
        assertThat(model.numLayers()).as(what).isEqualTo(c.get("layers").asInt());
        assertThat(model.hiddenSize()).as(what).isEqualTo(c.get("hidden").asInt());
        assertThat(model.inputSize()).as(what).isEqualTo(c.get("input").asInt());

        assertThat(arrays.get("output").countNonZero()).as("the expected output is not all zeros: " + what).isPositive();
        int b = c.get("batch").asInt(), t = c.get("steps").asInt();
        assertThat(arrays.get("input").shape()).as(what).containsExactly(batchFirst ? b : t, batchFirst ? t : b, model.inputSize());

        EngineFactory factory = EngineProvider.factory(engineName);
        EngineOptions options = EngineOptions.builder().engine(engineName).threads(2).precision(Precision.FP32)
                .batchHint(b).batchFirst(batchFirst).build();
        assertThat(factory.unavailableReason(model, options)).as(what).isEmpty();
        try (Engine engine = batchFirst ? EngineProvider.select(model, options).engine() : factory.create(model, options)) {
            assertThat(engine.name()).as(what).isEqualTo(engineName);
            RnnOutput out = engine.run(arrays.get("input"), arrays.get("h0"), arrays.get("c0"));
            double eOut = Accuracy.relativeError(out.output(), arrays.get("output"));
            double eH = Accuracy.relativeError(out.hN(), arrays.get("h_n"));
            double eC = model.cell().hasCellState() ? Accuracy.relativeError(out.cN(), arrays.get("c_n")) : 0;
            System.out.printf("golden %-45s %-14s output %.2e  h_n %.2e  c_n %.2e%n", name, engineName, eOut, eH, eC);
            assertThat(eOut).as("output: " + what).isLessThanOrEqualTo(TOLERANCE);
            assertThat(eH).as("h_n: " + what).isLessThanOrEqualTo(TOLERANCE);
            if (model.cell().hasCellState()) {
                assertThat(eC).as("c_n: " + what).isLessThanOrEqualTo(TOLERANCE);
            } else {
                assertThat(out.cN()).as(what).isNull();
            }
        }
    }
}
