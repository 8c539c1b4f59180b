package org.sprnn.cli;

// sprnn prune writes what its --output name says (.npz → a numpy zip, .safetensors → safetensors) and
// keeps the input's state-dict keys: a module prefix stays, a bias=False model gets no bias tensors, and
// the tensor set is the input's, for every pair of input and output formats. Any other output name is
// refused before any work, naming both formats.

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sprnn.Precision;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npz;
import org.sprnn.io.Safetensors;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class PruneOutputCommandTest {
    @TempDir
    Path dir;

    /** A 2-layer LSTM state dict under {@code prefix}, with or without biases, written as {@code name}. */
    private Path stateDict(String name, String prefix, boolean bias) {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 5, 8, 2, 1.0, 1.0, 23);
        Map<String, Tensor> sd = new LinkedHashMap<>();
        ModelFiles.toStateDict(m).forEach((k, v) -> {
            if (bias || !k.startsWith("bias")) {
                sd.put(prefix + k, v);
            }
        });
        Path f = dir.resolve(name);
        if (name.endsWith(".npz")) {
            Npz.write(f, sd, Precision.FP32, false);
        } else {
            Safetensors.write(f, sd, Map.of("cell", "lstm", "format", "pt"), Precision.FP32);
        }
        return f;
    }

    private static boolean isZip(Path f) throws IOException {
        byte[] b = Files.readAllBytes(f);
        return b.length >= 2 && b[0] == 'P' && b[1] == 'K';
    }

    private static Map<String, Tensor> raw(Path f) throws IOException {
        return isZip(f) ? Npz.read(f) : Safetensors.read(f).tensors();
    }

    @ParameterizedTest(name = "{0} -> {1}, prefix ''{2}'', bias {3}")
    @CsvSource({
        "npz, npz, encoder.lstm., false",
        "npz, safetensors, rnn., true",
        "safetensors, npz, encoder.lstm., false",
        "safetensors, safetensors, rnn., false",
        "safetensors, safetensors, '', true",
        "npz, npz, '', true"})
    void prunedFileKeepsTheInputsKeysInTheFormatOfItsName(String inExt, String outExt, String prefix, boolean bias) throws IOException {
        Path in = stateDict("in." + inExt, prefix, bias);
        Path out = dir.resolve("out." + outExt);
        CliTest.Result r = cli("prune", "--model", in.toString(), "--cell", "lstm", "--density", "0.25", "--output", out.toString());
        String what = inExt + " -> " + outExt + ", prefix '" + prefix + "', bias " + bias;
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).as(what).contains("wrote " + out, outExt.equals("npz") ? "--cell lstm" : "safetensors");
        assertThat(isZip(out)).as("format follows the name: " + what).isEqualTo(outExt.equals("npz"));

        Map<String, Tensor> before = raw(in), after = raw(out);
        assertThat(after.keySet()).as("the input's keys, no more, no fewer: " + what).containsExactlyInAnyOrderElementsOf(before.keySet());
        assertThat(after.keySet()).as(what).allMatch(k -> k.startsWith(prefix));
        assertThat(after.keySet().stream().anyMatch(k -> k.contains("bias_"))).as(what).isEqualTo(bias);
        for (String k : before.keySet()) {
            if (k.contains("bias_")) {
                assertThat(after.get(k)).as(k + ": " + what).isEqualTo(before.get(k));
            } else if (k.contains("weight_hh")) {
                assertThat(after.get(k).countNonZero()).as(k + " pruned to 25%: " + what).isEqualTo(Math.round(0.25 * 32 * 8));
            } else {
                assertThat(after.get(k)).as(k + " unpruned without --input-weights: " + what).isEqualTo(before.get(k));
            }
        }
        if (outExt.equals("safetensors")) {
            assertThat(Safetensors.read(out).metadata()).as(what).containsEntry("cell", "lstm");
        }
    }

    @Test
    void anOutputNameOfNeitherFormatIsRefusedBeforeAnyWork() {
        Path in = stateDict("in.safetensors", "rnn.", true);
        List<String> names = new ArrayList<>(List.of("out.pt", "out.npy", "out"));
        for (String name : names) {
            Path out = dir.resolve(name);
            CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.5", "--output", out.toString());
            CliTest.assertOneLineError(r, "--output", out.toString(), ".safetensors", ".npz");
            assertThat(out).doesNotExist();
        }
    }

    @Test
    void bf16CannotGoIntoAnNpz() {
        Path in = stateDict("in.safetensors", "", true);
        Path out = dir.resolve("out.npz");
        CliTest.Result r = cli("prune", "--model", in.toString(), "--density", "0.5", "--dtype", "bf16", "--output", out.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("--dtype", "bf16", ".npz", ".safetensors");
        assertThat(out).doesNotExist();
        CliTest.Result ok = cli("prune", "--model", in.toString(), "--density", "0.5", "--dtype", "bf16", "--output",
                dir.resolve("out.safetensors").toString());
        assertThat(ok.code()).as(ok.err()).isZero();
    }
}
