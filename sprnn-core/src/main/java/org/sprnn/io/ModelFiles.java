package org.sprnn.io;

// Turns a weight file into an RnnModel and back. This is where PyTorch's state-dict naming
// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, optionally under one module prefix such
// as "rnn." or "encoder.lstm.") meets sprnn's Layer records, and where everything a state dict can get
// wrong is caught: projected LSTMs, stray tensors, gaps in the layer numbering, half a bias pair, a
// reverse direction for some layers only, an unknown or missing cell type. Bidirectional state dicts
// (weight_ih_l{k}_reverse, ...) load into a model with reverse layers. Saving writes the keys the file was loaded with (the
// model keeps its prefix and whether it has biases), in the format the output's name says, so that a
// pruned file loads back into the user's PyTorch module with load_state_dict(strict=True).

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Loads and saves {@link RnnModel}s as PyTorch-named weight files ({@code .safetensors} or {@code .npz}).
 *
 * <p>The format is recognised by content (zip magic → npz, a safetensors header → safetensors), falling
 * back to the extension. PyTorch's own {@code torch.save} files ({@code .pt}/{@code .pth}: a zip holding
 * a pickle, or a bare pickle in the legacy format) are recognised and refused with the way to convert
 * them ({@code scripts/torch_to_safetensors.py}); sprnn never unpickles anything. Names and metadata a
 * message repeats go through {@link Untrusted}. The cell type comes from the caller's override (the CLI's {@code --cell}) if
 * given, otherwise from the safetensors {@code __metadata__} key {@code cell}; when both are present and
 * differ, <b>the override wins</b> (the user said so explicitly). An {@code .npz} carries no metadata, so
 * it needs the override.
 *
 * <p>A file's tensors must all be RNN parameters under one prefix: any other tensor is refused on load,
 * never ignored, so the keys {@link #toStateDict} gives for a loaded model are exactly the file's keys
 * (same prefix, biases only where the file had them). Safetensors metadata other than {@code cell} is
 * not kept; {@link #save} writes {@code cell} and {@code format}.
 */
public final class ModelFiles {

    /** PyTorch's state-dict name of an RNN parameter, after an optional module prefix. */
    private static final Pattern PARAM = Pattern.compile(
            "^(.*?)((weight|bias)_(ih|hh|hr)_l(0|[1-9][0-9]{0,5})(_reverse)?)$");

    private static final byte[] ZIP_MAGIC = {'P', 'K'};

    /** How to turn a PyTorch checkpoint into a file sprnn reads; ends the message that refuses one. */
    static final String CONVERT_HINT = "convert it with sprnn's scripts/torch_to_safetensors.py IN.pt OUT.safetensors "
            + "--cell <rnn_relu|rnn_tanh|gru|lstm>";

    private ModelFiles() {
    }

    /**
     * Loads a model.
     *
     * @param file         a {@code .safetensors} or {@code .npz} file with PyTorch's parameter names
     * @param cellOverride the cell type, or {@code null} to take it from the file's metadata; overrides
     *                     the metadata where both are present
     * @return the model, validated
     * @throws SprnnException naming the file (and tensor) for any problem: unreadable or malformed file,
     *                        unknown format, missing/extra tensors (a reverse direction for some layers only), wrong shapes, non-finite
     *                        weights, no cell type
     */
    public static RnnModel load(Path file, CellType cellOverride) {
        return load(file, cellOverride, null, note -> { });
    }

    /**
     * Loads a model, or the RNN of one submodule of a larger model's state dict.
     *
     * @param file         a {@code .safetensors} or {@code .npz} file with PyTorch's parameter names
     * @param cellOverride the cell type, or {@code null} to take it from the file's metadata; overrides
     *                     the metadata where both are present (and {@code notes} is told where they differ)
     * @param module       PyTorch's name of the submodule to read ({@code rnn}, {@code encoder.rnn}: its tensors
     *                     {@code module.weight_ih_l0}, ...), every other tensor of the file ignored (a classifier head, an
     *                     embedding); {@code null} for a file that holds one RNN and nothing else
     * @param notes        told, one line each, what is worth saying but is no error
     * @return the model, validated
     * @throws SprnnException naming the file (and tensor) for any problem, as {@link #load(Path, CellType)}, and a
     *                        module the file has no tensors under (with the modules it has)
     */
    public static RnnModel load(Path file, CellType cellOverride, String module, java.util.function.Consumer<String> notes) {
        Safetensors.Contents contents = switch (detect(file)) {
            case SAFETENSORS -> {
                requireJackson();
                yield Safetensors.read(file);
            }
            case NPZ -> new Safetensors.Contents(Npz.read(file), Map.of(), Map.of()); // npz has no metadata
        };
        Map<String, String> metadata = contents.metadata();
        CellType cell = cellOverride;
        String metaCell = metadata.get("cell");
        if (cell != null && metaCell != null) {
            CellType said;
            try {
                said = CellType.parse(metaCell);
            } catch (SprnnException e) {
                said = null; // metadata that names no cell: the override is all there is
            }
            if (said != cell) {
                notes.accept(file + ": the cell given (" + cell.id() + ") overrides the file's metadata cell " + Untrusted.quote(metaCell, 40));
            }
        }
        if (cell == null) {
            String meta = metadata.get("cell");
            if (meta == null) {
                throw new SprnnException(file + ": the file does not say which cell it holds (no __metadata__ \"cell\"): "
                        + "pass --cell rnn_relu|rnn_tanh|gru|lstm");
            }
            try {
                cell = CellType.parse(meta);
            } catch (SprnnException e) { // CellType's message repeats the value as it is: quote it here instead
                throw new SprnnException(file + ": __metadata__ \"cell\": unknown cell " + Untrusted.quote(meta)
                        + ": expected one of rnn_relu, rnn_tanh, gru, lstm (or pass --cell)");
            }
        }
        return module == null ? fromStateDict(file, contents.tensors(), cell) : build(file, module(file, contents.tensors(), module), cell, false);
    }

    /**
     * A submodule's name as {@link #load(Path, CellType, String, java.util.function.Consumer)} takes it: stripped, without
     * trailing dots, checked.
     *
     * @param module the name as given ({@code rnn}, {@code encoder.rnn}, {@code rnn.})
     * @return the name without surrounding blanks and trailing dots
     * @throws SprnnException (one line, the value escaped) for a blank name, one of dots only, or one over 200 characters
     */
    public static String moduleName(String module) {
        String m = module.strip();
        while (m.endsWith(".")) {
            m = m.substring(0, m.length() - 1);
        }
        if (m.isEmpty() || m.length() > 200) {
            throw new SprnnException("module: expected a submodule's name such as rnn or encoder.rnn, got " + Untrusted.quote(module, 40));
        }
        return m;
    }

    /**
     * The RNN parameters of submodule {@code module} itself ({@code module.weight_ih_l0}, ...; not those of modules nested in
     * it, nor its other tensors), names unchanged.
     */
    private static Map<String, Tensor> module(Path file, Map<String, Tensor> tensors, String module) {
        String m = moduleName(module);
        Map<String, Tensor> out = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(m + ".")) {
                Matcher pm = PARAM.matcher(k.substring(m.length() + 1));
                if (pm.matches() && pm.group(1).isEmpty()) {
                    out.put(k, e.getValue());
                }
            }
        }
        if (out.isEmpty()) {
            throw new SprnnException(file + ": no RNN tensors (weight_ih_l0, ...) in module " + Untrusted.quote(m, 40) + " (the file's are "
                    + rnnModules(tensors) + ")");
        }
        return out;
    }

    /** Where {@code tensors} has RNN parameters: the modules (prefixes ending in a dot), unprefixed, other prefixes; for messages. */
    private static String rnnModules(Map<String, Tensor> tensors) {
        TreeSet<String> modules = new TreeSet<>();
        TreeSet<String> other = new TreeSet<>();
        boolean bare = false;
        for (String k : tensors.keySet()) {
            Matcher pm = PARAM.matcher(k);
            if (pm.matches()) {
                String p = pm.group(1);
                if (p.isEmpty()) {
                    bare = true;
                } else if (p.endsWith(".")) {
                    modules.add(p.substring(0, p.length() - 1));
                } else {
                    other.add(p);
                }
            }
        }
        List<String> parts = new ArrayList<>();
        if (!modules.isEmpty()) {
            parts.add("in module" + (modules.size() > 1 ? "s " : " ") + list(new ArrayList<>(modules)));
        }
        if (bare) {
            parts.add("unprefixed (read without a module)");
        }
        if (!other.isEmpty()) {
            parts.add("under the prefix" + (other.size() > 1 ? "es " : " ") + list(new ArrayList<>(other)) + " (no module: read without one)");
        }
        return parts.isEmpty() ? "none" : String.join("; ", parts);
    }

    /** The two model file formats: told apart by content on load, chosen by the file's name on save. */
    public enum Format {
        /** Hugging Face safetensors, with {@code __metadata__}. */
        SAFETENSORS,
        /** numpy {@code .npz}, one {@code .npy} entry per tensor, no metadata. */
        NPZ
    }

    /**
     * The format {@link #save} writes to a file of this name: {@code .safetensors} or {@code .npz}
     * (case ignored).
     *
     * @param file the file's path; only its name counts
     * @return the format
     * @throws SprnnException naming the file and both accepted endings, for any other name
     */
    public static Format formatOfName(Path file) {
        Path leaf = file.getFileName();
        String name = leaf == null ? "" : leaf.toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            return Format.SAFETENSORS;
        }
        if (name.endsWith(".npz")) {
            return Format.NPZ;
        }
        throw new SprnnException(file + ": cannot tell which format to write from the name: expected a name ending "
                + "in .safetensors or .npz");
    }

    /**
     * Refuses, with the flag that mends it, to go on where Jackson (the safetensors header's JSON) cannot be loaded: on
     * the module path sprnn-core is an automatic module, which does not bring the modules it uses into the graph, and
     * the first safetensors call would otherwise end in {@code NoClassDefFoundError}.
     */
    static void requireJackson() {
        if (!JACKSON) {
            throw new SprnnException("safetensors files: Jackson (com.fasterxml.jackson.databind), which reads and writes their "
                    + "headers, is not loadable: on the module path, start the JVM with --add-modules com.fasterxml.jackson.databind "
                    + "(or requires com.fasterxml.jackson.databind in your module-info.java); on the class path, add jackson-databind");
        }
    }

    private static final boolean JACKSON = loadable("com.fasterxml.jackson.databind.ObjectMapper");

    private static boolean loadable(String className) {
        try {
            Class.forName(className, false, ModelFiles.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    private static Format detect(Path file) {
        if (!Files.exists(file)) {
            throw new SprnnException(file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new SprnnException(file + ": is a directory, not a model file");
        }
        if (!Files.isRegularFile(file)) { // a pipe would block the read below until something writes to it
            throw new SprnnException(file + ": is not a regular file (a pipe or device): sprnn reads models from regular files");
        }
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(8);
        } catch (IOException e) {
            throw new SprnnException(file + ": cannot read: " + Untrusted.why(e));
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        // safetensors first: its 8-byte header length may begin like another format's magic, "PK" (19280 +
        // 65536k bytes) or pickle's 0x80 0x02..0x05 (640-1407 bytes)
        boolean safetensors = FileElements.looksLikeSafetensors(file);
        if (!safetensors && head.length >= 2 && head[0] == ZIP_MAGIC[0] && head[1] == ZIP_MAGIC[1]) {
            return Format.NPZ;
        }
        if (!safetensors && head.length >= 2 && (head[0] & 0xFF) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            // pickle's PROTO opcode, protocol 2 to 5: torch.save's legacy (non-zip) format starts so
            throw new SprnnException(file + ": a Python pickle (PyTorch's legacy torch.save format), not a .safetensors "
                    + "or .npz model file; sprnn does not unpickle: " + CONVERT_HINT);
        }
        if (head.length >= 6 && head[0] == Npy.MAGIC[0] && new String(head, 1, 5, java.nio.charset.StandardCharsets.ISO_8859_1).equals("NUMPY")) {
            throw new SprnnException(file + ": a .npy file holds one array; a model needs a .safetensors or .npz file of "
                    + "weight_ih_l0, weight_hh_l0, ...");
        }
        if (safetensors || name.endsWith(".safetensors")) {
            return Format.SAFETENSORS; // a damaged .safetensors gets the reader's precise message
        }
        if (name.endsWith(".npz")) {
            return Format.NPZ;
        }
        throw new SprnnException(file + ": unknown model format: expected a .safetensors or .npz file "
                + "(for a PyTorch .pt/.pth checkpoint, " + CONVERT_HINT + ")");
    }

    /**
     * Builds a model from PyTorch-named tensors (a state dict).
     *
     * @param source names the origin in messages (usually the file)
     * @param tensors PyTorch's names ({@code weight_ih_l0}, ...) → values, optionally under one common prefix
     * @param cell the cell type
     * @return the model, validated
     * @throws SprnnException naming {@code source} and the tensors at fault
     */
    public static RnnModel fromStateDict(Object source, Map<String, Tensor> tensors, CellType cell) {
        return build(source, tensors, cell, true);
    }

    /** {@link #fromStateDict}; {@code hint}: where the tensors hold more than one RNN's, say which module to name. */
    private static RnnModel build(Object source, Map<String, Tensor> tensors, CellType cell, boolean hint) {
        String where = String.valueOf(source);
        if (tensors.isEmpty()) {
            throw new SprnnException(where + ": holds no tensors");
        }
        List<String> unknown = new ArrayList<>();
        TreeSet<String> prefixes = new TreeSet<>();
        TreeSet<String> reverse = new TreeSet<>();
        TreeSet<String> projections = new TreeSet<>();
        Map<String, Tensor> params = new TreeMap<>(); // stripped name → tensor
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Matcher m = PARAM.matcher(e.getKey());
            if (!m.matches()) {
                unknown.add(e.getKey());
                continue;
            }
            prefixes.add(m.group(1));
            params.put(m.group(2), e.getValue());
            if (m.group(6) != null) {
                reverse.add(e.getKey());
            }
            if (m.group(4).equals("hr")) {
                projections.add(e.getKey());
            }
        }
        if (!projections.isEmpty()) {
            throw new SprnnException(where + ": LSTM projections (proj_size) are not supported (found "
                    + Untrusted.escape(projections.first()) + ")");
        }
        String pick = !hint ? ""
                : prefixes.size() == 1 && prefixes.first().endsWith(".")
                ? "; to read only the RNN's tensors, name its module: " + Untrusted.quote(prefixes.first().substring(0, prefixes.first().length() - 1), 40)
                        + " (sprnn --module, Spark setModule)"
                : prefixes.size() > 1 ? "; to read one RNN, name its module (sprnn --module, Spark setModule)" : "";
        if (!unknown.isEmpty()) {
            throw new SprnnException(where + ": unexpected tensor" + (unknown.size() > 1 ? "s " : " ")
                    + list(unknown) + " (sprnn reads weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, "
                    + "under at most one common prefix)" + pick);
        }
        if (prefixes.size() > 1) {
            throw new SprnnException(where + ": tensors come from several modules (prefixes "
                    + list(new ArrayList<>(prefixes))
                    + "); a file must hold one RNN" + pick);
        }
        String rawPrefix = prefixes.first();
        String prefix = Untrusted.escape(rawPrefix); // for messages only; the model keeps rawPrefix
        int layerCount = 0;
        for (String n : params.keySet()) {
            String digits = n.substring(n.lastIndexOf("_l") + 2).replace("_reverse", "");
            layerCount = Math.max(layerCount, Integer.parseInt(digits) + 1);
        }
        boolean anyBias = params.keySet().stream().anyMatch(n -> n.startsWith("bias_"));
        boolean bidirectional = !reverse.isEmpty();
        List<Layer> layers = new ArrayList<>(), reverseLayers = new ArrayList<>();
        for (int d = 0; d < (bidirectional ? 2 : 1); d++) {
            String suffix = d == 0 ? "" : "_reverse";
            for (int k = 0; k < layerCount; k++) {
                String ih = "weight_ih_l" + k + suffix, hh = "weight_hh_l" + k + suffix;
                if (d == 1 && !params.containsKey(ih) && !params.containsKey(hh)) {
                    throw new SprnnException(where + ": bidirectional (has " + Untrusted.escape(reverse.first()) + ") but layer " + k
                            + " has no reverse direction (missing " + prefix + ih + ", " + prefix + hh + ")");
                }
                Tensor wIh = required(where, prefix, params, ih, layerCount);
                Tensor wHh = required(where, prefix, params, hh, layerCount);
                Tensor bIh = params.get("bias_ih_l" + k + suffix);
                Tensor bHh = params.get("bias_hh_l" + k + suffix);
                if ((bIh == null) != (bHh == null)) {
                    String has = (bIh != null ? "bias_ih_l" : "bias_hh_l") + k + suffix;
                    String lacks = (bIh != null ? "bias_hh_l" : "bias_ih_l") + k + suffix;
                    throw new SprnnException(where + ": has " + prefix + has + " but not " + prefix + lacks
                            + " (PyTorch layers have both biases or neither)");
                }
                if (bIh == null && anyBias) {
                    throw new SprnnException(where + ": layer " + k + (d == 0 ? "" : " (reverse)") + " has no biases but other layers do (missing "
                            + prefix + "bias_ih_l" + k + suffix + ", " + prefix + "bias_hh_l" + k + suffix + ")");
                }
                int rows = wHh.rank() == 2 ? wHh.dim(0) : 0;
                (d == 0 ? layers : reverseLayers).add(new Layer(wIh, wHh, bIh != null ? bIh : Tensor.zeros(rows),
                        bHh != null ? bHh : Tensor.zeros(rows)));
            }
        }
        try {
            // the key prefix as it was: a saved model keeps its keys exactly
            return new RnnModel(cell, layers, anyBias, rawPrefix, reverseLayers);
        } catch (SprnnException e) {
            throw new SprnnException(where + ": " + (rawPrefix.isEmpty() ? "" : "(prefix " + Untrusted.quote(rawPrefix) + ") ") + e.getMessage(), e);
        }
    }

    private static Tensor required(String where, String prefix, Map<String, Tensor> params, String name, int layers) {
        Tensor t = params.get(name);
        if (t == null) {
            throw new SprnnException(where + ": missing tensor " + prefix + name + " (the file has tensors for "
                    + layers + " layer" + (layers > 1 ? "s" : "") + "; layers must be numbered from l0 without gaps)");
        }
        return t;
    }

    private static String list(List<String> names) {
        int shown = Math.min(names.size(), 5);
        String s = names.subList(0, shown).stream().map(n -> Untrusted.quote(n, 40)).collect(Collectors.joining(", "));
        return names.size() > shown ? s + " and " + (names.size() - shown) + " more" : s;
    }

    /**
     * The model as a PyTorch state dict: {@code weight_ih_l{k}}, {@code weight_hh_l{k}} and, where the
     * model has biases ({@link RnnModel#bias()}), {@code bias_ih_l{k}}, {@code bias_hh_l{k}} for every
     * layer (followed, in a bidirectional model, by the same keys ending in {@code _reverse}, PyTorch's
     * order), each key preceded by the model's {@link RnnModel#keyPrefix()}: for a model loaded from a
     * file, the file's own keys.
     *
     * @param model the model
     * @return name → tensor, layer by layer, in PyTorch's order
     */
    public static Map<String, Tensor> toStateDict(RnnModel model) {
        String p = model.keyPrefix();
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (int k = 0; k < model.numLayers(); k++) {
            for (int d = 0; d < model.directions(); d++) {
                Layer l = model.layer(k, d);
                String suffix = d == 0 ? "" : "_reverse";
                sd.put(p + "weight_ih_l" + k + suffix, l.wIh());
                sd.put(p + "weight_hh_l" + k + suffix, l.wHh());
                if (model.bias()) {
                    sd.put(p + "bias_ih_l" + k + suffix, l.bIh());
                    sd.put(p + "bias_hh_l" + k + suffix, l.bHh());
                }
            }
        }
        return sd;
    }

    /**
     * Saves a model's state dict ({@link #toStateDict}) atomically, every tensor in {@code dtype}, in the
     * format the file's name says ({@link #formatOfName}): safetensors with
     * {@code __metadata__ {"cell": <cell id>, "format": "pt"}}, or an {@code .npz} (deflated entries, as
     * {@code np.savez_compressed}; it has no metadata, so loading it needs the cell type given).
     *
     * @param model the model
     * @param file the file to write, ending in {@code .safetensors} or {@code .npz}
     * @param dtype the precision every tensor is stored in
     * @throws SprnnException naming the file if its name ends in neither {@code .safetensors} nor
     *                        {@code .npz}, if {@code dtype} is bf16 for an {@code .npz} (numpy has no
     *                        bfloat16), or if it cannot be written
     */
    public static void save(RnnModel model, Path file, Precision dtype) {
        AtomicFiles.write(file, writer(model, file, dtype));
    }

    /**
     * Adds the file {@link #save} writes to {@code batch}, written with the batch's other files (all or none): a model
     * beside the input or outputs that go with it. Its name, dtype and values are checked now; its bytes are made from
     * the model's tensors when the batch writes, so they must not change until then.
     *
     * @param batch the batch to add to
     * @param model the model
     * @param file the file to write, ending in {@code .safetensors} or {@code .npz}
     * @param dtype the precision every tensor is stored in
     * @return {@code batch}
     * @throws SprnnException as {@link #save}, for what can be known before writing
     */
    public static AtomicFiles.Batch addTo(AtomicFiles.Batch batch, RnnModel model, Path file, Precision dtype) {
        return batch.add(file, writer(model, file, dtype));
    }

    private static AtomicFiles.ChannelWriter writer(RnnModel model, Path file, Precision dtype) {
        return switch (formatOfName(file)) {
            case SAFETENSORS -> {
                requireJackson();
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("cell", model.cell().id());
                meta.put("format", "pt");
                yield Safetensors.writer(file, toStateDict(model), meta, dtype);
            }
            case NPZ -> {
                if (!Npy.canStore(dtype)) {
                    throw new SprnnException(file + ": an .npz cannot hold " + FileElements.safetensorsName(dtype) + " (numpy has no such dtype): "
                            + "save f32, f16 or f64, or a .safetensors file");
                }
                yield Npz.writer(file, toStateDict(model), dtype, true);
            }
        };
    }
}
