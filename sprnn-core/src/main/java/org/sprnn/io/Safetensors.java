package org.sprnn.io;

// Reads and writes the safetensors format (https://github.com/huggingface/safetensors) by hand: an
// 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and byte span
// in the data section that follows, then the raw little-endian data. The file is memory-mapped and the
// header is checked completely before any tensor is decoded, so a malformed or truncated file gives one
// line naming the file, the tensor and what is wrong rather than garbage weights or an exception from
// deep inside a library.

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

/**
 * safetensors files: read (memory-mapped, fully validated) and write (atomically).
 *
 * <p>Reads F32, F16, BF16 and F64 tensors, exactly, into {@link Tensor}s; any other dtype is refused
 * naming the tensor. Checks: the header length is at most {@value #MAX_HEADER_BYTES} bytes and fits in
 * the file; the header is one JSON object (UTF-8, no duplicate keys); every entry has {@code dtype},
 * {@code shape} and {@code data_offsets}; extents and offsets are plain JSON integers (no fraction, no
 * exponent, no sign, in range: {@code 144.0} and {@code 1e2} are refused); at most {@value Npy#MAX_RANK}
 * extents; shape × dtype size equals the byte span; spans lie inside the data section and do not
 * overlap and cover the data section end to end, with nothing after the last (as the reference implementation
 * requires; an empty tensor may name any offset within it, where the reference wants it in order); {@code __metadata__} maps strings to strings. Names, dtypes and metadata a message repeats go through
 * {@link Untrusted}.
 */
public final class Safetensors {

    /**
     * The largest header accepted: 16 MiB. The reference implementation allows 100 MB, but an RNN's state
     * dict needs a few hundred bytes per tensor, and the JSON tree of a hostile header costs about 13 times
     * its size in heap (a 60 MB header of {@code 0,0,0,...} took 760 MB): this bound keeps that near 200 MB.
     */
    public static final long MAX_HEADER_BYTES = 16L << 20;

    /** The metadata key of the header. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Safetensors() {
    }

    /**
     * The contents of a safetensors file.
     *
     * @param tensors  name → values, in the header's order
     * @param dtypes   name → the dtype the file stores it in
     * @param metadata the {@code __metadata__} map (empty if absent)
     */
    public record Contents(Map<String, Tensor> tensors, Map<String, Precision> dtypes, Map<String, String> metadata) {
        /** Copies the maps, which the record then holds unmodifiable, in their order. */
        public Contents {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            dtypes = Collections.unmodifiableMap(new LinkedHashMap<>(dtypes));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** One header entry after validation: where its bytes are and what they mean. */
    private record Entry(String name, Precision dtype, int[] shape, long begin, long end) {
    }

    /**
     * Reads every tensor of a file.
     *
     * @param file a {@code .safetensors} file
     * @return its tensors (in float64), their stored dtypes and its metadata
     * @throws SprnnException naming the file (and tensor) if the file is missing, unreadable or malformed
     */
    public static Contents read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            if (size < 8) {
                throw fail(file, "too short for a safetensors file (" + size + " bytes; the header length alone takes 8)");
            }
            MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena); // the whole file, read-only
            long headerLen = map.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw fail(file, "header length " + Long.toUnsignedString(headerLen) + " is out of range (1 to "
                        + MAX_HEADER_BYTES + " bytes): not a safetensors file, or a corrupt one");
            }
            if (headerLen > size - 8) {
                throw fail(file, "header length " + headerLen + " runs past the end of the file (" + size
                        + " bytes): the file is truncated or not a safetensors file");
            }
            byte[] headerBytes = map.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            List<Entry> entries = new ArrayList<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            parseHeader(file, headerBytes, dataSize, entries, metadata);

            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, Precision> dtypes = new LinkedHashMap<>();
            for (Entry e : entries) {
                double[] values = new double[Math.toIntExact((e.end - e.begin) / e.dtype.bytes())];
                FileElements.decode(e.dtype, map, dataStart + e.begin, values, values.length);
                tensors.put(e.name, new Tensor(e.shape, values));
                dtypes.put(e.name, e.dtype);
            }
            return new Contents(tensors, dtypes, metadata);
        } catch (NoSuchFileException e) {
            throw fail(file, "no such file");
        } catch (IOException e) {
            throw fail(file, "cannot read: " + Untrusted.why(e));
        } catch (InternalError e) {
            // a mapped page that can no longer be read (the file was truncated meanwhile, an I/O error)
            throw fail(file, "the file changed or could not be read while it was mapped (" + e.getMessage() + ")");
        } catch (OutOfMemoryError e) { // no Error leaves the library: a file larger than this JVM's heap is a refusal
            throw fail(file, "too large for this JVM's heap (" + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MB): give the JVM more with SPRNN_JAVA_OPTS=-Xmx<size>");
        }
    }

    private static void parseHeader(Path file, byte[] headerBytes, long dataSize, List<Entry> entries,
                                    Map<String, String> metadata) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw fail(file, "header is not valid UTF-8: not a safetensors file, or a corrupt one");
        }
        if (!text.startsWith("{")) {
            throw fail(file, "header does not start with '{': not a safetensors file, or a corrupt one");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            // Jackson's message repeats the offending token: escape it like any file content
            throw fail(file, "header is not valid JSON (" + Untrusted.escape(String.valueOf(e.getOriginalMessage())) + ")");
        }
        if (root == null || !root.isObject()) {
            throw fail(file, "header is not a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!node.isObject()) {
                    throw fail(file, METADATA_KEY + " is not a JSON object of strings");
                }
                for (Map.Entry<String, JsonNode> m : node.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw fail(file, METADATA_KEY + " entry " + Untrusted.quote(m.getKey()) + " is not a string ("
                                + Untrusted.escape(m.getValue().toString()) + ")");
                    }
                    metadata.put(m.getKey(), m.getValue().asText());
                }
                continue;
            }
            entries.add(parseEntry(file, name, node, dataSize));
        }
        List<Entry> bySpan = new ArrayList<>(entries);
        bySpan.removeIf(e -> e.begin == e.end); // empty tensors occupy no bytes and overlap nothing
        bySpan.sort(Comparator.comparingLong(Entry::begin));
        // the data section is the tensors' bytes and nothing else, as the reference implementation requires: a byte that
        // belongs to no tensor is a file cut, spliced or written by something else
        long at = 0;
        String after = null;
        for (Entry cur : bySpan) {
            if (cur.begin < at) {
                throw fail(file, "tensors " + Untrusted.quote(after, 60) + " (ending at byte " + at + ") and "
                        + Untrusted.quote(cur.name, 60) + " (bytes " + cur.begin + ".." + cur.end + ") overlap");
            }
            if (cur.begin > at) {
                throw fail(file, "bytes " + at + ".." + cur.begin + " of the data section belong to no tensor ("
                        + (after == null ? "before the first, " : "between " + Untrusted.quote(after, 60) + " and ")
                        + Untrusted.quote(cur.name, 60) + "): the tensors must cover it end to end");
            }
            at = cur.end;
            after = cur.name;
        }
        if (at < dataSize) {
            throw fail(file, (dataSize - at) + " bytes after the last tensor's data (bytes " + at + ".." + dataSize
                    + " of the data section belong to no tensor): the file is longer than its header says");
        }
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
        String where = "tensor " + Untrusted.quote(name);
        if (!node.isObject()) {
            throw fail(file, where + ": header entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || shapeNode == null || offsetsNode == null) {
            throw fail(file, where + ": header entry lacks " + (dtypeNode == null ? "dtype" : shapeNode == null ? "shape" : "data_offsets"));
        }
        if (!dtypeNode.isTextual()) {
            throw fail(file, where + ": dtype is not a string (" + show(dtypeNode) + ")");
        }
        Precision dtype = FileElements.ofSafetensorsName(dtypeNode.asText());
        if (dtype == null) {
            throw fail(file, where + " has dtype " + Untrusted.quote(dtypeNode.asText())
                    + ", which sprnn does not read (F32, F16, BF16, F64)");
        }
        if (!shapeNode.isArray()) {
            throw fail(file, where + ": shape is not an array (" + show(shapeNode) + ")");
        }
        if (shapeNode.size() > Npy.MAX_RANK) {
            throw fail(file, where + ": shape has " + shapeNode.size() + " dimensions; sprnn reads at most " + Npy.MAX_RANK);
        }
        int[] shape = new int[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!isCount(d) || !d.canConvertToInt()) {
                throw fail(file, where + ": shape " + show(shapeNode) + " holds " + show(d) + ", not an extent 0.."
                        + Integer.MAX_VALUE + problem(d));
            }
            shape[i] = d.asInt();
            count = FileElements.multiplyOrHuge(count, shape[i]);
        }
        if (!offsetsNode.isArray() || offsetsNode.size() != 2) {
            throw fail(file, where + ": data_offsets is not a pair [begin, end] (" + show(offsetsNode) + ")");
        }
        long[] off = new long[2];
        for (int i = 0; i < 2; i++) {
            JsonNode o = offsetsNode.get(i);
            if (!isCount(o) || !o.canConvertToLong()) {
                throw fail(file, where + ": data_offsets " + show(offsetsNode) + " holds " + show(o) + ", not a byte offset"
                        + problem(o));
            }
            off[i] = o.asLong();
        }
        if (off[1] < off[0]) {
            throw fail(file, where + ": data_offsets " + show(offsetsNode) + " end before they begin");
        }
        if (off[1] > dataSize) {
            throw fail(file, where + ": data_offsets " + show(offsetsNode) + " reach past the data section (" + dataSize
                    + " bytes): the file is truncated or corrupt");
        }
        long bytes = FileElements.multiplyOrHuge(count, dtype.bytes());
        if (bytes != off[1] - off[0]) {
            throw fail(file, where + ": shape " + Untrusted.escape(Arrays.toString(shape)) + " of " + FileElements.safetensorsName(dtype)
                    + " needs " + bytes + " bytes but data_offsets " + show(offsetsNode) + " span " + (off[1] - off[0]));
        }
        if (count > Integer.MAX_VALUE - 16) {
            throw fail(file, where + ": " + count + " elements is more than one array can hold");
        }
        return new Entry(name, dtype, shape, off[0], off[1]);
    }

    /**
     * Whether a JSON value is a plain non-negative integer, as the reference implementation (Rust, usize)
     * reads extents and offsets: {@code 144.0} and {@code 1e2} are floats to JSON, whatever their value.
     */
    private static boolean isCount(JsonNode n) {
        return n.isIntegralNumber() && n.bigIntegerValue().signum() >= 0;
    }

    /** Why a shape or offset value is refused, for the message: "" unless it is a number. */
    private static String problem(JsonNode n) {
        if (!n.isNumber()) {
            return "";
        }
        if (!n.isIntegralNumber()) {
            return " (a float: JSON integers only, no fraction or exponent)";
        }
        return n.bigIntegerValue().signum() < 0 ? " (negative)" : " (too large)";
    }

    /** A header value as JSON, escaped and cut for a message. */
    private static String show(JsonNode n) {
        return Untrusted.escape(n.toString());
    }

    /**
     * Writes tensors and metadata to {@code file} atomically (temporary file, then rename). Tensors are
     * laid out in name order, every value stored in {@code dtype} (rounded to nearest-even); the header
     * is padded with spaces so that the data starts 8-byte aligned.
     *
     * @param file the file to write or replace
     * @param tensors name → values
     * @param metadata the {@code __metadata__} entries (may be empty)
     * @param dtype the precision every value is stored in
     * @throws SprnnException naming the file if it cannot be written, or a tensor or metadata key is invalid
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, Precision dtype) {
        AtomicFiles.write(file, writer(file, tensors, metadata, dtype));
    }

    /** What {@link #write} writes, checked and its header made now, the bytes written when a batch writes it. */
    static AtomicFiles.ChannelWriter writer(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, Precision dtype) {
        Map<String, Tensor> ordered = new TreeMap<>(tensors);
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            new TreeMap<>(metadata).forEach((k, v) -> {
                if (k == null || v == null) {
                    throw fail(file, METADATA_KEY + " has a null key or value");
                }
                meta.put(k, v);
            });
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : ordered.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().equals(METADATA_KEY)) {
                throw fail(file, "invalid tensor name " + Untrusted.quote(e.getKey()));
            }
            Tensor t = e.getValue();
            FileElements.checkFits(dtype, t, file + ": tensor " + Untrusted.quote(e.getKey()));
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", FileElements.safetensorsName(dtype));
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) {
                shape.add(d);
            }
            long bytes = (long) t.size() * dtype.bytes();
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw fail(file, "cannot encode header: " + e.getOriginalMessage());
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        return ch -> {
            FileElements.writeFully(ch, head.duplicate());
            for (Tensor t : ordered.values()) {
                byte[] raw = new byte[t.size() * dtype.bytes()]; // one tensor, little-endian, in the file's dtype
                FileElements.encode(dtype, t.data(), MemorySegment.ofArray(raw), 0);
                FileElements.writeFully(ch, ByteBuffer.wrap(raw));
            }
        };
    }


    private static SprnnException fail(Path file, String problem) {
        return new SprnnException(file + ": " + problem);
    }

}
