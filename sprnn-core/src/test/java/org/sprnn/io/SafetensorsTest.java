package org.sprnn.io;

// Round trips for every dtype, exact rounding, and one test per way a safetensors file can be broken:
// each must give a SprnnException whose one-line message names the file (and the tensor) and the problem.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

class SafetensorsTest {

    @TempDir
    Path dir;

    static Tensor random(SplittableRandom rnd, Precision dtype, int... shape) {
        Tensor t = Tensor.zeros(shape);
        double[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = dtype.round(rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-12, 6)));
        }
        return t;
    }

    @ParameterizedTest
    @EnumSource(Precision.class)
    void roundTripIsExactForValuesOfTheDtype(Precision dtype) {
        SplittableRandom rnd = new SplittableRandom(7);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", random(rnd, dtype, 5, 3));
        in.put("a", random(rnd, dtype, 11));
        in.put("scalar", random(rnd, dtype));
        in.put("empty", Tensor.zeros(0, 4));
        in.put("special", new Tensor(new int[] {4}, new double[] {0.0, -0.0, Double.POSITIVE_INFINITY, -1.5}));
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, in, Map.of("cell", "gru", "note", "x"), dtype);

        Safetensors.Contents c = Safetensors.read(f);
        assertThat(c.tensors()).as("dtype " + dtype).isEqualTo(in);
        assertThat(c.dtypes().values()).containsOnly(dtype);
        assertThat(c.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("cell", "gru", "note", "x"));
        assertThat(Double.doubleToRawLongBits(c.tensors().get("special").data()[1])).isEqualTo(Double.doubleToRawLongBits(-0.0));
    }

    @Test
    void writingRoundsOnceToNearestEven() {
        // 1 + 2^-11 + 2^-40 lies just above the midpoint between the halves 1 and 1 + 2^-10: correct rounding
        // goes up; rounding to float first (giving the exact midpoint) and then to half would tie to 1.0
        double justAboveMidpoint = 1 + Math.scalb(1.0, -11) + Math.scalb(1.0, -40);
        assertThat(Precision.FP16.round(justAboveMidpoint)).isEqualTo(1 + Math.scalb(1.0, -10));
        assertThat(Precision.FP16.round(1 + Math.scalb(1.0, -11))).isEqualTo(1.0); // exact tie: to even
        double bfAbove = 1 + Math.scalb(1.0, -8) + Math.scalb(1.0, -40);
        assertThat(Precision.BF16.round(bfAbove)).isEqualTo(1 + Math.scalb(1.0, -7));
        assertThat(Precision.BF16.round(1.0 / 3)).isEqualTo(Float.intBitsToFloat(0x3EAB0000)); // torch: 0.333984375
        assertThat(Precision.FP16.round(1e6)).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(Precision.BF16.round(Double.NaN)).isNaN();

        Path f = dir.resolve("r.safetensors");
        double[] v = {justAboveMidpoint, 1.0 / 3, -2.5e-8, 65519.0};
        for (Precision d : Precision.values()) {
            Safetensors.write(f, Map.of("w", new Tensor(new int[] {4}, v.clone())), Map.of(), d);
            double[] back = Safetensors.read(f).tensors().get("w").data();
            assertThat(back).as(d.toString()).containsExactly(Arrays.stream(v).map(d::round).toArray());
        }
    }

    @Test
    void outputIsStableAndAligned() throws IOException {
        SplittableRandom rnd = new SplittableRandom(1);
        Tensor x = random(rnd, Precision.FP32, 3, 3);
        Tensor y = random(rnd, Precision.FP32, 2);
        Map<String, Tensor> xy = new LinkedHashMap<>();
        xy.put("x", x);
        xy.put("y", y);
        Map<String, Tensor> yx = new LinkedHashMap<>();
        yx.put("y", y);
        yx.put("x", x);
        Path f1 = dir.resolve("1.safetensors");
        Path f2 = dir.resolve("2.safetensors");
        Safetensors.write(f1, xy, Map.of("a", "1", "b", "2"), Precision.FP32);
        Safetensors.write(f2, yx, new java.util.TreeMap<>(Map.of("b", "2", "a", "1")).descendingMap(), Precision.FP32);
        byte[] b1 = Files.readAllBytes(f1);
        assertThat(b1).isEqualTo(Files.readAllBytes(f2));
        long headerLen = ByteBuffer.wrap(b1).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        assertThat(b1.length).isEqualTo(8 + headerLen + 4 * (9 + 2));
    }

    // ---- malformed files ----------------------------------------------------------------------------

    /** A file with the given header text and data bytes. */
    private Path raw(String name, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    /** One tensor's entry of a header: {@code "name":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}. */
    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    /** A JSON header of these entries. */
    private static String header(String... entries) {
        return "{" + String.join(",", entries) + "}";
    }

    private Path valid() {
        Path f = dir.resolve("ok.safetensors");
        Safetensors.write(f, Map.of("weight_ih_l0", Tensor.zeros(4, 3), "weight_hh_l0", Tensor.zeros(4, 4)), Map.of(), Precision.FP32);
        return f;
    }

    private static void assertFails(Path f, String... parts) {
        assertThatThrownBy(() -> Safetensors.read(f)).isInstanceOf(SprnnException.class)
                .hasMessageContaining(f.toString()).hasMessageContainingAll(parts)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = valid();
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 5));
        assertFails(cut, "weight_ih_l0", "truncated"); // name order: weight_hh_l0 then weight_ih_l0, the last one is cut
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertFails(tiny, "too short");
        Path headerCut = dir.resolve("headercut.safetensors");
        Files.write(headerCut, Arrays.copyOf(all, 20));
        assertFails(headerCut, "header length", "past the end of the file");
    }

    @Test
    void headerLengthTooLarge() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(1L << 40);
        Path f = dir.resolve("huge.safetensors");
        Files.write(f, b.array());
        assertFails(f, "header length", "out of range");
        b.putLong(0, -1L);
        Files.write(f, b.array());
        assertFails(f, "out of range");
    }

    @Test
    void nonJsonHeader() throws IOException {
        assertFails(raw("garbage.safetensors", "{this is not json}   ", new byte[0]), "not valid JSON");
        assertFails(raw("array.safetensors", "[1, 2]", new byte[0]), "does not start with '{'");
        assertFails(raw("trailing.safetensors", "{} {}", new byte[0]), "not valid JSON");
        String a = entry("a", "F32", "[]", "[0,4]");
        assertFails(raw("dup.safetensors", header(a, a), new byte[4]), "not valid JSON", "a");
        Path bin = dir.resolve("binary.safetensors");
        Files.write(bin, new byte[] {4, 0, 0, 0, 0, 0, 0, 0, '{', (byte) 0xFF, (byte) 0xFE, '}'});
        assertFails(bin, "not valid UTF-8");
    }

    @Test
    void overlappingOffsets() throws IOException {
        String h = header(entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[4,12]"));
        assertFails(raw("overlap.safetensors", h, new byte[12]), "'a'", "'b'", "overlap");
    }

    @Test
    void bytesThatBelongToNoTensorAreRefusedAsTheReferenceImplementationDoes() throws IOException {
        String gap = header(entry("a", "F32", "[2]", "[0,8]"), entry("b", "F32", "[2]", "[12,20]"));
        assertFails(raw("gap.safetensors", gap, new byte[20]), "bytes 8..12", "no tensor", "between 'a' and 'b'");
        String first = header(entry("a", "F32", "[2]", "[4,12]"));
        assertFails(raw("first.safetensors", first, new byte[12]), "bytes 0..4", "before the first, 'a'");
        String tail = header(entry("a", "F32", "[2]", "[0,8]"));
        assertFails(raw("tail.safetensors", tail, new byte[11]), "3 bytes after the last tensor", "bytes 8..11");
        // end to end, an empty tensor anywhere: loads
        String ok = header(entry("b", "F32", "[1]", "[4,8]"), entry("a", "F32", "[1]", "[0,4]"), entry("e", "F32", "[0]", "[2,2]"));
        assertThat(Safetensors.read(raw("ok.safetensors", ok, new byte[8])).tensors()).containsKeys("a", "b", "e");
    }

    @Test
    void offsetsOutsideTheFile() throws IOException {
        String h = header(entry("a", "F32", "[4]", "[0,16]"));
        assertFails(raw("outside.safetensors", h, new byte[8]), "tensor 'a'", "past the data section");
        String backwards = header(entry("a", "F32", "[0]", "[8,4]"));
        assertFails(raw("backwards.safetensors", backwards, new byte[8]), "tensor 'a'", "end before they begin");
        String negative = header(entry("a", "F32", "[1]", "[-4,0]"));
        assertFails(raw("negative.safetensors", negative, new byte[8]), "tensor 'a'", "not a byte offset");
    }

    @Test
    void shapeTimesDtypeSizeMustEqualTheSpan() throws IOException {
        String h = header(entry("w", "F16", "[2,3]", "[0,24]"));
        assertFails(raw("span.safetensors", h, new byte[24]), "tensor 'w'", "needs 12 bytes", "span 24");
        String overflow = header(entry("w", "F64", "[2147483647,2147483647,2147483647]", "[0,8]"));
        assertFails(raw("overflow.safetensors", overflow, new byte[8]), "tensor 'w'", "span 8");
        String badShape = header(entry("w", "F32", "[2,-1]", "[0,8]"));
        assertFails(raw("negshape.safetensors", badShape, new byte[8]), "tensor 'w'", "shape");
    }

    @Test
    void unknownDtypeIsRefusedNamingTensorAndDtype() throws IOException {
        String h = header(entry("weight_ih_l0", "I64", "[1]", "[0,8]"));
        assertFails(raw("int.safetensors", h, new byte[8]), "weight_ih_l0", "I64", "F32, F16, BF16, F64");
    }

    @Test
    void incompleteEntriesAndBadMetadata() throws IOException {
        assertFails(raw("nooff.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "tensor 'w'", "data_offsets");
        assertFails(raw("notobj.safetensors", "{\"w\":[1,2]}", new byte[4]), "tensor 'w'", "not a JSON object");
        assertFails(raw("meta.safetensors", "{\"__metadata__\":{\"cell\":3}}", new byte[0]), "__metadata__", "cell", "not a string");
        assertFails(raw("meta2.safetensors", "{\"__metadata__\":[\"gru\"]}", new byte[0]), "__metadata__");
    }

    @Test
    void missingFile() {
        assertFails(dir.resolve("absent.safetensors"), "no such file");
    }
}
