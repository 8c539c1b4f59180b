package org.sprnn.io;

// Load → prune → save keeps a PyTorch state dict loadable with load_state_dict(strict=True): for every
// golden fixture (PyTorch-written files, among them a module prefix "rnn."/"encoder.lstm." and
// bias=False models) and both output formats, the saved file holds exactly the input's keys with the
// input's shapes, the biases bit for bit, the pruned weights, and the format its name says.

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;

class PrunedFileKeysTest {
    @TempDir
    Path dir;

    static Stream<Arguments> fixtureAndFormat() throws IOException {
        List<Arguments> args = new ArrayList<>();
        for (JsonNode c : GoldenTest.cases()) {
            for (String ext : new String[] {".npz", ".safetensors"}) {
                args.add(Arguments.of(c.get("model_file").asText(), ext, c));
            }
        }
        return args.stream();
    }

    /** The tensors of a model file as written, whatever its format. */
    private static Map<String, Tensor> raw(Path f) throws IOException {
        byte[] head = Files.readAllBytes(f);
        return head.length >= 2 && head[0] == 'P' && head[1] == 'K' ? Npz.read(f) : Safetensors.read(f).tensors();
    }

    @Test
    void theFixturesIncludePrefixedAndBiaslessModelsInBothInputFormats() throws IOException {
        List<JsonNode> cs = GoldenTest.cases();
        assertThat(cs).anyMatch(c -> c.path("prefix").asText().equals("encoder.lstm."))
                .anyMatch(c -> !c.path("bias").asBoolean(true))
                .anyMatch(c -> c.get("model_file").asText().endsWith(".npz"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("fixtureAndFormat")
    void prunedFileHasTheInputsKeys(String modelFile, String ext, JsonNode c) throws IOException {
        Path in = GoldenTest.goldenDir().resolve(modelFile);
        CellType cell = CellType.parse(c.get("cell").asText());
        RnnModel model = ModelFiles.load(in, cell);
        RnnModel pruned = Pruner.prune(model, new PruneSpec(0.5, PruneSpec.Mode.PER_MATRIX, true));
        Path out = dir.resolve("pruned" + ext);
        ModelFiles.save(pruned, out, Precision.FP64);
        String what = modelFile + " (prefix '" + c.path("prefix").asText("") + "', bias " + c.path("bias").asBoolean(true)
                + ") pruned to " + out.getFileName();

        byte[] bytes = Files.readAllBytes(out);
        boolean zip = bytes[0] == 'P' && bytes[1] == 'K';
        assertThat(zip).as("format follows the output's name: " + what).isEqualTo(ext.equals(".npz"));

        Map<String, Tensor> before = raw(in), after = raw(out);
        assertThat(after.keySet()).as("keys: " + what).containsExactlyInAnyOrderElementsOf(before.keySet());
        for (Map.Entry<String, Tensor> e : before.entrySet()) {
            String key = e.getKey();
            Tensor t = after.get(key);
            assertThat(t.shape()).as(key + ": " + what).containsExactly(e.getValue().shape());
            if (key.contains("bias_")) {
                assertThat(t).as("biases are not pruned: " + key + ", " + what).isEqualTo(e.getValue());
            } else {
                assertThat(t.countNonZero()).as("pruned: " + key + ", " + what)
                        .isLessThanOrEqualTo(Math.max(1, Math.round(0.5 * t.size())));
            }
        }
        RnnModel back = ModelFiles.load(out, cell);
        assertThat(back).as("loads back as the pruned model, prefix and bias flag included: " + what).isEqualTo(pruned);
        assertThat(back.keyPrefix()).as(what).isEqualTo(c.path("prefix").asText(""));
        assertThat(back.bias()).as(what).isEqualTo(c.path("bias").asBoolean(true));
    }
}
