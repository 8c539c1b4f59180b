package org.sprnn.io;

// PyTorch agreement for issue 17: sequences of different lengths (PyTorch's pack_padded_sequence with
// enforce_sorted=False, outputs back through pad_packed_sequence) and bidirectional layers (*_reverse tensors),
// every cell, stacked, with and without initial states, batch-first too. The fixtures were written by
// /usr/bin/python3 scripts/make_golden_packed.py (a rerun rewrites identical bytes); their padding steps hold
// values of about ±1e3, which a run that read them would show. Every CPU engine, built through EngineProvider as
// a user's would be.

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
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

class PackedGoldenTest {

    private static final double TOLERANCE = 1e-5;

    static Path dir() {
        try {
            return Path.of(PackedGoldenTest.class.getResource("/golden-packed/manifest.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<JsonNode> cases() throws IOException {
        List<JsonNode> cases = new ArrayList<>();
        new ObjectMapper().readTree(dir().resolve("manifest.json").toFile()).get("cases").forEach(cases::add);
        return cases;
    }

    static Stream<Arguments> caseAndEngine() throws IOException {
        List<Arguments> args = new ArrayList<>();
        for (JsonNode c : cases()) {
            for (String engine : List.of("cpu-reference", "cpu")) {
                args.add(Arguments.of(c.get("name").asText(), engine, c));
            }
        }
        return args.stream();
    }

    @Test
    void fixturesCoverEveryCellStackedWithLengthsAndBidirectional() throws IOException {
        List<JsonNode> cs = cases();
        for (String cell : List.of("rnn_relu", "rnn_tanh", "gru", "lstm")) {
            assertThat(cs).as(cell + " with lengths, stacked").anyMatch(c -> c.get("cell").asText().equals(cell)
                    && c.has("lengths") && c.get("layers").asInt() > 1 && !c.path("bidirectional").asBoolean());
            assertThat(cs).as(cell + " bidirectional, stacked").anyMatch(c -> c.get("cell").asText().equals(cell)
                    && c.path("bidirectional").asBoolean() && c.get("layers").asInt() > 1);
        }
        assertThat(cs).as("bidirectional with lengths, stacked, lstm, given states")
                .anyMatch(c -> c.get("cell").asText().equals("lstm") && c.path("bidirectional").asBoolean() && c.has("lengths")
                        && c.get("layers").asInt() > 1 && c.get("states").asText().equals("given"));
        assertThat(cs).as("batch first with lengths").anyMatch(c -> c.path("batch_first").asBoolean() && c.has("lengths"));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("caseAndEngine")
    void matchesPyTorch(String name, String engineName, JsonNode c) {
        Path d = dir();
        RnnModel model = ModelFiles.load(d.resolve(c.get("model_file").asText()), null);
        Map<String, Tensor> arrays = Npz.read(d.resolve(c.get("arrays_file").asText()));
        boolean batchFirst = c.path("batch_first").asBoolean();
        SequenceLengths lengths = null;
        if (c.has("lengths")) {
            int[] v = new int[c.get("lengths").size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = c.get("lengths").get(i).asInt();
            }
            lengths = SequenceLengths.of(v);
        }
        String what = "packed golden case " + name + " (" + c + ") on " + engineName + ", tolerance " + TOLERANCE;
        assertThat(model.bidirectional()).as(what).isEqualTo(c.get("directions").asInt() == 2);
        assertThat(model.numLayers()).as(what).isEqualTo(c.get("layers").asInt());
        EngineOptions o = EngineOptions.builder().engine(engineName).threads(2).batchFirst(batchFirst).build();
        try (EngineSelection sel = EngineProvider.select(model, o)) {
            RnnOutput out = sel.engine().run(arrays.get("input"), arrays.get("h0"), arrays.get("c0"), lengths);
            assertThat(out.output().shape()).as(what).containsExactly(arrays.get("output").shape());
            double eOut = Accuracy.relativeError(out.output(), arrays.get("output"));
            double eH = Accuracy.relativeError(out.hN(), arrays.get("h_n"));
            double eC = model.cell().hasCellState() ? Accuracy.relativeError(out.cN(), arrays.get("c_n")) : 0;
            System.out.printf("packed golden %-48s %-14s output %.2e  h_n %.2e  c_n %.2e%n", name, engineName, eOut, eH, eC);
            assertThat(eOut).as("output: " + what).isLessThanOrEqualTo(TOLERANCE);
            assertThat(eH).as("h_n: " + what).isLessThanOrEqualTo(TOLERANCE);
            assertThat(eC).as("c_n: " + what).isLessThanOrEqualTo(TOLERANCE);
            double[] got = out.output().data(), want = arrays.get("output").data();
            for (int i = 0; i < want.length; i++) {
                if (want[i] == 0) { // after a sequence's end: zero exactly, as pad_packed_sequence leaves it
                    assertThat(got[i]).as("output element " + i + " is zero in PyTorch's: " + what).isZero();
                }
            }
        }
    }
}
