package org.sprnn.io;

// ModelFiles: models survive save/load for every cell and dtype; PyTorch state dicts with prefixes and
// without biases load and save back under the same keys, in the format the output's name says; and every way a state dict can be wrong gives one line naming the file and the
// tensor. Also the all-or-nothing writes: a failed write leaves no file behind.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class ModelFilesTest {

    @TempDir
    Path dir;

    /** A random model whose every weight is already a value of {@code dtype}. */
    private static RnnModel model(CellType cell, int layers, Precision dtype) {
        RnnModel m = SyntheticModels.random(cell, 5, 7, layers, 0.5, 1.0, 42);
        return new RnnModel(cell, m.layers().stream().map(l -> new Layer(round(l.wIh(), dtype), round(l.wHh(), dtype),
                round(l.bIh(), dtype), round(l.bHh(), dtype))).toList());
    }

    private static Tensor round(Tensor t, Precision dtype) {
        double[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = dtype.round(d[i]);
        }
        return new Tensor(t.shape(), d);
    }

    @ParameterizedTest
    @EnumSource(CellType.class)
    void saveLoadRoundTripEveryCellAndDtype(CellType cell) {
        for (Precision dtype : Precision.values()) {
            RnnModel m = model(cell, 2, dtype);
            Path f = dir.resolve(cell + "-" + dtype + ".safetensors");
            ModelFiles.save(m, f, dtype);
            RnnModel back = ModelFiles.load(f, null);
            assertThat(back).as(cell + " " + dtype).isEqualTo(m);
            assertThat(Safetensors.read(f).metadata()).containsEntry("cell", cell.id()).containsEntry("format", "pt");
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"a\\b.", "enc\u00a0rnn.", "m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m."
            + "m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.m.rnn."})
    void aModelKeepsItsKeyPrefixExactlyHoweverItIsSpelled(String prefix) {
        // messages escape and cut the prefix; the model and a file saved from it keep it as it was
        Map<String, Tensor> dict = new LinkedHashMap<>();
        ModelFiles.toStateDict(SyntheticModels.random(CellType.GRU, 3, 4, 1, 1.0, 1.0, 5)).forEach((k, v) -> dict.put(prefix + k, v));
        Path in = dir.resolve("in.safetensors"), out = dir.resolve("out.safetensors");
        Safetensors.write(in, dict, Map.of("cell", "gru"), Precision.FP32);
        RnnModel m = ModelFiles.load(in, null);
        assertThat(m.keyPrefix()).isEqualTo(prefix);
        ModelFiles.save(m, out, Precision.FP32);
        assertThat(Safetensors.read(out).tensors().keySet()).containsExactlyInAnyOrderElementsOf(dict.keySet());
    }

    @Test
    void aSafetensorsHeaderLengthThatStartsLikeAPickleOrAZipIsStillSafetensors() throws IOException {
        // a header of 640..1407 bytes begins the file 0x80 0x02..0x05, as pickle's PROTO opcode does
        RnnModel m = SyntheticModels.random(CellType.GRU, 3, 4, 1, 1.0, 1.0, 5);
        Path plain = dir.resolve("plain.safetensors");
        ModelFiles.save(m, plain, Precision.FP32);
        byte[] b = Files.readAllBytes(plain);
        long n = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        for (int target : new int[] {0x0280, 0x0580, 0x4B50}) { // ... and "PK", a zip's magic
            assertThat(n).isLessThan(target);
            byte[] header = (new String(b, 8, (int) n, StandardCharsets.UTF_8) + " ".repeat(target - (int) n)).getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[8 + header.length + b.length - 8 - (int) n];
            java.nio.ByteBuffer.wrap(out).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header)
                    .put(b, 8 + (int) n, b.length - 8 - (int) n);
            assertThat(out[0] & 0xFF).isEqualTo(target & 0xFF);
            Path padded = dir.resolve("padded-" + target + ".safetensors");
            Files.write(padded, out);
            assertThat(ModelFiles.load(padded, null).layers()).isEqualTo(ModelFiles.load(plain, null).layers());
        }
    }

    @Test
    void npzModelNeedsTheCellAndLoadsWithIt() {
        RnnModel m = model(CellType.GRU, 3, Precision.FP32);
        Path f = dir.resolve("m.npz");
        Npz.write(f, ModelFiles.toStateDict(m), Precision.FP32, true);
        assertThat(ModelFiles.load(f, CellType.GRU)).isEqualTo(m);
        assertThatThrownBy(() -> ModelFiles.load(f, null)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(f.toString(), "--cell");
    }

    private Path stateDict(String name, Map<String, Tensor> tensors, Map<String, String> meta) {
        Path f = dir.resolve(name);
        Safetensors.write(f, tensors, meta, Precision.FP32);
        return f;
    }

    private static Map<String, Tensor> withPrefix(String prefix, Map<String, Tensor> sd) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        sd.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    private static void assertLoadFails(Path f, CellType cell, String... parts) {
        assertThatThrownBy(() -> ModelFiles.load(f, cell)).isInstanceOf(SprnnException.class)
                .hasMessageContaining(f.toString()).hasMessageContainingAll(parts)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void modulePrefixIsStrippedAndRemembered() {
        RnnModel m = model(CellType.LSTM, 2, Precision.FP32);
        for (String prefix : new String[] {"rnn.", "encoder.lstm.", "module.rnn."}) {
            Map<String, Tensor> sd = withPrefix(prefix, ModelFiles.toStateDict(m));
            Path f = stateDict("p.safetensors", sd, Map.of("cell", "lstm"));
            RnnModel back = ModelFiles.load(f, null);
            assertThat(back.layers()).as(prefix).isEqualTo(m.layers());
            assertThat(back.keyPrefix()).as(prefix).isEqualTo(prefix);
            assertThat(back).as(prefix).isEqualTo(new RnnModel(m.cell(), m.layers(), true, prefix));
            assertThat(ModelFiles.toStateDict(back)).as("the state dict of a loaded model has the file's keys, " + prefix)
                    .containsExactlyInAnyOrderEntriesOf(sd);
        }
        Map<String, Tensor> mixed = withPrefix("a.", ModelFiles.toStateDict(m));
        mixed.put("b.weight_ih_l2", mixed.remove("a.weight_ih_l1"));
        assertLoadFails(stateDict("mixed.safetensors", mixed, Map.of()), CellType.LSTM, "'a.'", "'b.'", "several modules");
    }

    @Test
    void noBiasesMeansZerosAndNoBiasKeysOnTheWayOut() {
        RnnModel m = model(CellType.RNN_TANH, 2, Precision.FP32);
        Map<String, Tensor> sd = ModelFiles.toStateDict(m);
        sd.keySet().removeIf(k -> k.startsWith("bias"));
        RnnModel back = ModelFiles.load(stateDict("nobias.safetensors", sd, Map.of("cell", "rnn_tanh")), null);
        for (Layer l : back.layers()) {
            assertThat(l.bIh().countNonZero() + l.bHh().countNonZero()).isZero();
            assertThat(l.bIh().shape()).containsExactly(7);
        }
        assertThat(back.layers().get(1).wHh()).isEqualTo(m.layers().get(1).wHh());
        assertThat(back.bias()).as("a file without bias tensors is a bias=False model").isFalse();
        assertThat(ModelFiles.toStateDict(back)).containsOnlyKeys("weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1");
        assertThat(ModelFiles.load(stateDict("bias.safetensors", ModelFiles.toStateDict(m), Map.of("cell", "rnn_tanh")), null)
                .bias()).isTrue();
    }

    @Test
    void aModelWithoutBiasesMustHaveZeroOnes() {
        RnnModel m = model(CellType.GRU, 2, Precision.FP32);
        assertThatThrownBy(() -> new RnnModel(m.cell(), m.layers(), false, "")).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll("layer 0", "nonzero biases", "bias=false");
        assertThatThrownBy(() -> new RnnModel(m.cell(), m.layers(), true, null)).isInstanceOf(SprnnException.class)
                .hasMessageContaining("prefix");
    }

    @Test
    void saveWritesTheFormatTheNameSaysWithTheSameKeys() throws IOException {
        RnnModel m = model(CellType.LSTM, 2, Precision.FP32);
        Map<String, Tensor> sd = ModelFiles.toStateDict(m);
        sd.keySet().removeIf(k -> k.startsWith("bias"));
        Path in = stateDict("in.safetensors", withPrefix("encoder.lstm.", sd), Map.of("cell", "lstm"));
        RnnModel loaded = ModelFiles.load(in, null);
        Map<String, Tensor> keys = Safetensors.read(in).tensors();

        Path npz = dir.resolve("out.NPZ");
        ModelFiles.save(loaded, npz, Precision.FP32);
        byte[] head = Arrays.copyOf(Files.readAllBytes(npz), 2);
        assertThat(new String(head, StandardCharsets.ISO_8859_1)).as("an .npz name gets a zip archive").isEqualTo("PK");
        assertThat(Npz.read(npz)).as("npz entries: the input's keys and values").containsExactlyInAnyOrderEntriesOf(keys);
        assertThat(ModelFiles.load(npz, CellType.LSTM)).isEqualTo(loaded);

        Path st = dir.resolve("out.safetensors");
        ModelFiles.save(loaded, st, Precision.FP32);
        assertThat(Safetensors.read(st).tensors()).containsExactlyInAnyOrderEntriesOf(keys);
        assertThat(Safetensors.read(st).metadata()).containsEntry("cell", "lstm").containsEntry("format", "pt");
        assertThat(ModelFiles.load(st, null)).isEqualTo(loaded);

        for (String name : new String[] {"out.pt", "out.npy", "out", "out.safetensors.tmp"}) {
            Path bad = dir.resolve(name);
            assertThatThrownBy(() -> ModelFiles.save(loaded, bad, Precision.FP32)).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll(bad.toString(), ".safetensors", ".npz");
            assertThat(bad).as(name).doesNotExist();
        }
        Path bf16 = dir.resolve("bf16.npz");
        assertThatThrownBy(() -> ModelFiles.save(loaded, bf16, Precision.BF16)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(bf16.toString(), "BF16", ".safetensors");
        assertThat(bf16).doesNotExist();
    }

    @Test
    void halfABiasPairIsRefused() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(model(CellType.GRU, 2, Precision.FP32));
        sd.remove("bias_hh_l1");
        assertLoadFails(stateDict("half.safetensors", withPrefix("rnn.", sd), Map.of()), CellType.GRU,
                "rnn.bias_ih_l1", "not rnn.bias_hh_l1");
        Map<String, Tensor> oneLayer = ModelFiles.toStateDict(model(CellType.GRU, 2, Precision.FP32));
        oneLayer.remove("bias_hh_l1");
        oneLayer.remove("bias_ih_l1");
        assertLoadFails(stateDict("layerbias.safetensors", oneLayer, Map.of()), CellType.GRU, "layer 1 has no biases");
    }

    @Test
    void missingTensorAndGapsInLayers() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(model(CellType.LSTM, 3, Precision.FP32));
        sd.remove("weight_hh_l1");
        assertLoadFails(stateDict("missing.safetensors", sd, Map.of("cell", "lstm")), null, "missing tensor weight_hh_l1");
        Map<String, Tensor> gap = ModelFiles.toStateDict(model(CellType.LSTM, 3, Precision.FP32));
        gap.keySet().removeIf(k -> k.endsWith("_l1"));
        assertLoadFails(stateDict("gap.safetensors", gap, Map.of("cell", "lstm")), null, "missing tensor weight_ih_l1", "from l0");
    }

    @Test
    void bidirectionalStateDictsLoadAndSaveUnderPyTorchsKeys() {
        RnnModel bi = org.sprnn.model.SyntheticModels.randomBidirectional(CellType.LSTM, 3, 5, 2, 0.5, 1.0, 4);
        bi = new RnnModel(bi.cell(), bi.layers(), true, "rnn.", bi.reverseLayers());
        Map<String, Tensor> sd = ModelFiles.toStateDict(bi);
        assertThat(sd.keySet()).startsWith("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse",
                "rnn.weight_ih_l1").hasSize(16);
        for (String name : List.of("bi.safetensors", "bi.npz")) {
            Path f = dir.resolve(name);
            ModelFiles.save(bi, f, Precision.FP64);
            RnnModel back = ModelFiles.load(f, CellType.LSTM);
            assertThat(back.bidirectional()).as(name).isTrue();
            assertThat(ModelFiles.toStateDict(back)).as(name).isEqualTo(sd);
        }
    }

    @Test
    void aReverseDirectionForSomeLayersOnlyIsRefused() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(model(CellType.GRU, 1, Precision.FP32));
        Map<String, Tensor> bi = new LinkedHashMap<>(sd);
        bi.put("weight_ih_l0_reverse", sd.get("weight_ih_l0"));
        assertLoadFails(stateDict("half.safetensors", bi, Map.of("cell", "gru")), null, "missing tensor weight_hh_l0_reverse");
        Map<String, Tensor> two = ModelFiles.toStateDict(org.sprnn.model.SyntheticModels.randomBidirectional(CellType.GRU, 3, 4, 2, 1, 1, 1));
        two.remove("weight_ih_l1_reverse");
        two.remove("weight_hh_l1_reverse");
        two.remove("bias_ih_l1_reverse");
        two.remove("bias_hh_l1_reverse");
        assertLoadFails(stateDict("onelayer.safetensors", two, Map.of("cell", "gru")), null,
                "bidirectional (has bias_hh_l0_reverse) but layer 1 has no reverse direction (missing weight_ih_l1_reverse, weight_hh_l1_reverse)");
        Map<String, Tensor> wide = ModelFiles.toStateDict(org.sprnn.model.SyntheticModels.randomBidirectional(CellType.GRU, 3, 4, 2, 1, 1, 1));
        wide.put("weight_ih_l1_reverse", Tensor.zeros(12, 4));
        assertLoadFails(stateDict("narrow.safetensors", wide, Map.of("cell", "gru")), null,
                "weight_ih_l1_reverse has shape [12, 4] but layer 1 takes the previous layer's two directions' hidden states, of size 2 x 4: expected [12, 8]");
    }

    @Test
    void unknownExtraTensorsAreNamed() {
        Map<String, Tensor> sd = withPrefix("rnn.", ModelFiles.toStateDict(model(CellType.GRU, 1, Precision.FP32)));
        sd.put("fc.weight", Tensor.zeros(2, 7));
        sd.put("fc.bias", Tensor.zeros(2));
        Path extra = stateDict("extra.safetensors", sd, Map.of("cell", "gru"));
        assertLoadFails(extra, null, "'fc.weight'", "'fc.bias'", "unexpected tensors", "name its module: 'rnn' (sprnn --module, Spark setModule)");
        // the RNN of a larger model: its submodule named, the classifier head ignored, the weights exactly the RNN's
        RnnModel gru = ModelFiles.load(extra, null, "rnn", note -> { throw new AssertionError(note); });
        assertThat(ModelFiles.toStateDict(gru).keySet()).allMatch(k -> k.startsWith("rnn."));
        assertThat(ModelFiles.load(extra, null, "rnn.", note -> { }).hiddenSize()).isEqualTo(gru.hiddenSize());
        assertThatThrownBy(() -> ModelFiles.load(extra, null, "encoder", note -> { })).isInstanceOf(SprnnException.class)
                .hasMessageContaining("no RNN tensors (weight_ih_l0, ...) in module 'encoder'").hasMessageContaining("in module 'rnn'");
        assertThatThrownBy(() -> ModelFiles.load(extra, null, "fc", note -> { })).isInstanceOf(SprnnException.class)
                .hasMessageContaining("no RNN tensors (weight_ih_l0, ...) in module 'fc'");
        assertThatThrownBy(() -> ModelFiles.load(extra, null, " . ", note -> { })).isInstanceOf(SprnnException.class)
                .hasMessageContaining("module: expected a submodule's name");
        // a module's own parameters only: not a nested module's (rnn.rnn.*), nor a sibling whose name it begins (rnn2.*)
        Map<String, Tensor> nested = new java.util.TreeMap<>(sd);
        ModelFiles.toStateDict(model(CellType.GRU, 1, Precision.FP32)).forEach((k, v) -> nested.put("rnn.rnn." + k, v));
        ModelFiles.toStateDict(model(CellType.LSTM, 1, Precision.FP32)).forEach((k, v) -> nested.put("rnn2." + k, v));
        Path nest = stateDict("nested.safetensors", nested, Map.of("cell", "gru"));
        assertThat(ModelFiles.toStateDict(ModelFiles.load(nest, null, "rnn", note -> { })).keySet())
                .allMatch(k -> k.startsWith("rnn.") && !k.startsWith("rnn.rnn."));
        assertThat(ModelFiles.toStateDict(ModelFiles.load(nest, null, "rnn.rnn", note -> { })).keySet()).allMatch(k -> k.startsWith("rnn.rnn."));
        assertThat(ModelFiles.load(nest, CellType.LSTM, "rnn2", note -> { }).cell()).isEqualTo(CellType.LSTM);
        // where the RNN tensors are: modules, unprefixed, a prefix that is no module
        Map<String, Tensor> odd = new java.util.TreeMap<>();
        ModelFiles.toStateDict(model(CellType.GRU, 1, Precision.FP32)).forEach((k, v) -> odd.put("x_" + k, v));
        Path oddFile = stateDict("odd.safetensors", odd, Map.of("cell", "gru"));
        assertThatThrownBy(() -> ModelFiles.load(oddFile, null, "x_", note -> { })).isInstanceOf(SprnnException.class)
                .hasMessageContaining("under the prefix 'x_' (no module: read without one)");
        assertThat(ModelFiles.load(oddFile, null).cell()).isEqualTo(CellType.GRU);
        Map<String, Tensor> proj = ModelFiles.toStateDict(model(CellType.LSTM, 1, Precision.FP32));
        proj.put("weight_hr_l0", Tensor.zeros(3, 7));
        assertLoadFails(stateDict("proj.safetensors", proj, Map.of("cell", "lstm")), null, "proj_size", "weight_hr_l0");
    }

    @Test
    void cellComesFromOverrideThenMetadata() {
        RnnModel m = model(CellType.RNN_RELU, 1, Precision.FP32);
        Path f = stateDict("cell.safetensors", ModelFiles.toStateDict(m), Map.of("cell", "rnn_relu"));
        assertThat(ModelFiles.load(f, null).cell()).isEqualTo(CellType.RNN_RELU);
        assertThat(ModelFiles.load(f, CellType.RNN_TANH).cell()).as("the override wins over metadata").isEqualTo(CellType.RNN_TANH);
        java.util.List<String> notes = new java.util.ArrayList<>();
        assertThat(ModelFiles.load(f, CellType.RNN_TANH, null, notes::add).cell()).isEqualTo(CellType.RNN_TANH);
        assertThat(notes).singleElement().asString().contains("rnn_tanh").contains("overrides the file's metadata cell 'rnn_relu'");
        notes.clear();
        ModelFiles.load(f, CellType.RNN_RELU, null, notes::add); // the same cell: nothing to say
        assertThat(notes).isEmpty();
        Path spelled = stateDict("spelled.safetensors", ModelFiles.toStateDict(m), Map.of("cell", "RNN-ReLU"));
        ModelFiles.load(spelled, CellType.RNN_RELU, null, notes::add); // the same cell spelled as CellType.parse accepts it
        assertThat(notes).isEmpty();

        Path none = stateDict("nocell.safetensors", ModelFiles.toStateDict(m), Map.of("format", "pt"));
        assertLoadFails(none, null, "does not say which cell", "--cell");
        Path unknown = stateDict("badcell.safetensors", ModelFiles.toStateDict(m), Map.of("cell", "transformer"));
        assertLoadFails(unknown, null, "__metadata__ \"cell\"", "unknown cell 'transformer'", "rnn_relu");
    }

    @Test
    void gateCountMismatchNamesFileAndTensor() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(model(CellType.GRU, 1, Precision.FP32));
        Path f = stateDict("gru.safetensors", withPrefix("rnn.", sd), Map.of("cell", "gru"));
        assertLoadFails(f, CellType.LSTM, "weight_hh_l0", "[21, 7]", "prefix 'rnn.'");
    }

    @Test
    void nanInWeightsNamesFileAndTensor() {
        Map<String, Tensor> sd = ModelFiles.toStateDict(model(CellType.LSTM, 2, Precision.FP32));
        Tensor w = sd.get("weight_hh_l1");
        double[] d = w.data().clone();
        d[9] = Double.NaN;
        sd.put("weight_hh_l1", new Tensor(w.shape(), d));
        Path f = stateDict("nan.safetensors", sd, Map.of("cell", "lstm"));
        assertLoadFails(f, null, "weight_hh_l1", "NaN", "row 1, column 2");
    }

    @Test
    void unknownFormatsAreRefused() throws IOException {
        Path pt = dir.resolve("model.pt");
        Files.write(pt, new byte[] {(byte) 0x80, 2, 'c', 'x', 0, 0, 0, 0, 0, 0});
        assertLoadFails(pt, CellType.GRU, "a Python pickle", ".safetensors or .npz", "scripts/torch_to_safetensors.py");
        Path other = dir.resolve("model.bin");
        Files.write(other, new byte[] {'G', 'G', 'U', 'F', 0, 0, 0, 0, 0, 0});
        assertLoadFails(other, CellType.GRU, "unknown model format", ".safetensors or .npz");
        Path npy = dir.resolve("w.npy");
        Npy.write(npy, Tensor.zeros(3, 3));
        assertLoadFails(npy, CellType.GRU, "a .npy file holds one array");
        Path empty = dir.resolve("empty.safetensors");
        Files.write(empty, new byte[0]);
        assertLoadFails(empty, CellType.GRU, "too short");
        assertLoadFails(dir.resolve("absent.safetensors"), CellType.GRU, "no such file");
        Path text = dir.resolve("notes.npz");
        Files.writeString(text, "not a zip", StandardCharsets.US_ASCII);
        assertLoadFails(text, CellType.GRU, "not a valid .npz");
    }

    // ---- all-or-nothing writes --------------------------------------------------------------------

    private static long filesIn(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.count();
        }
    }

    @Test
    void missingDirectoryIsNamedAndNothingIsWritten() {
        Path target = dir.resolve("no/such/dir/model.safetensors");
        RnnModel m = model(CellType.GRU, 1, Precision.FP32);
        assertThatThrownBy(() -> ModelFiles.save(m, target, Precision.FP32)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(target.toString(), "does not exist");
        assertThatThrownBy(() -> Npy.write(target, Tensor.zeros(1))).isInstanceOf(SprnnException.class)
                .hasMessageContaining(target.toString());
        assertThat(Files.exists(dir.resolve("no"))).isFalse();
    }

    @Test
    void targetThatIsADirectoryIsRefused() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("out.npy"));
        assertThatThrownBy(() -> Npy.write(sub, Tensor.zeros(1))).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(sub.toString(), "is a directory");
    }

    @Test
    void unwritableDirectoryIsNamed() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("readonly"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Assumptions.assumeFalse(Files.isWritable(ro), "running as root: permissions do not stop writes");
            Path target = ro.resolve("y.npy");
            assertThatThrownBy(() -> Npy.write(target, Tensor.zeros(2))).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll(target.toString(), "not writable");
            assertThat(filesIn(ro)).isZero();
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void failureMidWriteLeavesNoPartialFileAndKeepsTheOldOne() throws IOException {
        Path target = dir.resolve("y.npy");
        assertThatThrownBy(() -> AtomicFiles.write(target, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[1000]));
            throw new IOException("No space left on device");
        })).isInstanceOf(SprnnException.class).hasMessageContainingAll(target.toString(), "No space left on device");
        assertThat(filesIn(dir)).as("no target and no temporary file").isZero();

        Npy.write(target, Tensor.zeros(3));
        byte[] before = Files.readAllBytes(target);
        assertThatThrownBy(() -> AtomicFiles.write(target, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[10]));
            throw new SprnnException("tensor x: cannot encode");
        })).isInstanceOf(SprnnException.class).hasMessage("tensor x: cannot encode");
        assertThat(Files.readAllBytes(target)).as("the previous file is untouched").isEqualTo(before);
        assertThat(filesIn(dir)).isEqualTo(1);
    }

    @Test
    void writtenFilesAreReadableByOthers() throws IOException {
        Path target = dir.resolve("z.npy");
        Npy.write(target, Tensor.zeros(3));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rw-r--r--");
    }
}
