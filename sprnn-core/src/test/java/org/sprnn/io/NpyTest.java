package org.sprnn.io;

// .npy and .npz: round trips, headers of every format version written the way numpy writes them, and
// one test per refused case (Fortran order, big-endian, object and other dtypes, truncation, garbage).

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

class NpyTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "FP32", "FP64"})
    void npyRoundTripIsExact(Precision dtype) throws IOException {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int[] shape : new int[][] {{7, 3, 33}, {5}, {}, {2, 0, 4}}) {
            Tensor t = SafetensorsTest.random(rnd, dtype, shape);
            Path f = dir.resolve("a.npy");
            Npy.write(f, t, dtype);
            assertThat(Npy.read(f)).as(dtype + " " + t.shapeString()).isEqualTo(t);
            byte[] b = Files.readAllBytes(f);
            int headerEnd = 10 + (b[8] & 0xFF | (b[9] & 0xFF) << 8);
            assertThat(headerEnd % 64).as("numpy pads the header to 64 bytes").isZero();
            assertThat(b[headerEnd - 1]).isEqualTo((byte) '\n');
        }
    }

    @Test
    void aDirectoryOrAPipeIsNamedForWhatItIs() throws Exception {
        Path d = Files.createDirectory(dir.resolve("arrays.npy"));
        assertThatThrownBy(() -> Npy.read(d)).isInstanceOf(SprnnException.class).hasMessage(d + ": is a directory, not a .npy file");
        Path fifo = dir.resolve("fifo.npy");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo is available");
        assertThatThrownBy(() -> Npy.read(fifo)).isInstanceOf(SprnnException.class)
                .hasMessage(fifo + ": is not a regular file (a pipe or device): sprnn reads .npy arrays from regular files");
    }

    @Test
    void floatTensorWritesTheSameFileAsItsFloat64Copy() throws IOException {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int[] shape : new int[][] {{7, 3, 33}, {5}, {}, {2, 0, 4}}) {
            FloatTensor t = FloatTensor.of(SafetensorsTest.random(rnd, Precision.FP32, shape));
            Path viaFloat = dir.resolve("f.npy"), viaDouble = dir.resolve("d.npy");
            Npy.write(viaFloat, t);
            Npy.write(viaDouble, t.toTensor());
            assertThat(Files.readAllBytes(viaFloat)).as(t.shapeString()).isEqualTo(Files.readAllBytes(viaDouble));
            assertThat(Npy.read(viaFloat)).as(t.shapeString()).isEqualTo(t.toTensor());
        }
    }

    @Test
    void defaultWriteIsFloat32() {
        Path f = dir.resolve("y.npy");
        Npy.write(f, new Tensor(new int[] {2}, new double[] {0.1, 2}));
        assertThat(Npy.read(f).data()).containsExactly((float) 0.1, 2.0);
    }

    /** The bytes of a .npy with a hand-written header dict, format version major.0, data as given. */
    static byte[] npy(int major, String dict, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        int unpadded = 8 + lenBytes + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(8 + lenBytes + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) header.length());
        } else {
            b.putInt(header.length());
        }
        b.put(header.getBytes(StandardCharsets.UTF_8)).put(data);
        return b.array();
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }

    @ParameterizedTest(name = "version {0}.0, descr {1}")
    @CsvSource({"1, <f4", "2, <f4", "3, <f4", "1, =f4", "1, |f4"})
    void readsEveryVersionAndNativeOrder(int major, String descr) throws IOException {
        Path f = dir.resolve("v.npy");
        Files.write(f, npy(major, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2, 1), }", floats(1.5f, -2f)));
        Tensor t = Npy.read(f);
        assertThat(t.shape()).containsExactly(2, 1);
        assertThat(t.data()).containsExactly(1.5, -2.0);
    }

    @Test
    void readsFloat16AndOldStyleHeaders() throws IOException {
        Path f = dir.resolve("h.npy");
        byte[] half = {0x00, 0x3C, 0x00, (byte) 0xC0}; // 1.0, -2.0
        Files.write(f, npy(1, "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f2\"}", half));
        assertThat(Npy.read(f).data()).containsExactly(1.0, -2.0);
    }

    private void assertRefused(String name, byte[] bytes, String... parts) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        assertThatThrownBy(() -> Npy.read(f)).isInstanceOf(SprnnException.class)
                .hasMessageContaining(f.toString()).hasMessageContainingAll(parts)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void fortranOrderIsRefused() throws IOException {
        assertRefused("fortran.npy", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", floats(1, 2)),
                "Fortran", "ascontiguousarray");
    }

    @Test
    void bigEndianIsRefused() throws IOException {
        assertRefused("big.npy", npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", floats(1, 2)),
                "big-endian", ">f4");
    }

    @Test
    void objectArraysAreRefused() throws IOException {
        assertRefused("obj.npy", npy(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new byte[16]),
                "object arrays");
    }

    @Test
    void otherDtypesAreRefused() throws IOException {
        assertRefused("int.npy", npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", new byte[8]),
                "'<i4'", "not supported");
        assertRefused("complex.npy", npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
                "'<c8'");
        assertRefused("struct.npy", npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new byte[4]),
                "structured dtype");
    }

    @Test
    void truncatedAndTrailingDataAreRefused() throws IOException {
        assertRefused("short.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", floats(1, 2)),
                "needs 12 bytes", "truncated");
        assertRefused("long.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1, 2)),
                "trailing bytes");
        byte[] ok = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1));
        assertRefused("headercut.npy", java.util.Arrays.copyOf(ok, 30), "past the end", "truncated");
        assertRefused("stub.npy", java.util.Arrays.copyOf(ok, 8), "truncated header");
    }

    @Test
    void garbageIsRefused() throws IOException {
        assertRefused("text.npy", "hello, world".getBytes(StandardCharsets.US_ASCII), "not a .npy file");
        assertRefused("empty.npy", new byte[0], "not a .npy file");
        assertRefused("dict.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) oops", floats(1)),
                "malformed header");
        assertRefused("nokey.npy", npy(1, "{'descr': '<f4', 'shape': (1,), }", floats(1)), "'fortran_order'");
        byte[] v9 = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1));
        v9[6] = 9;
        assertRefused("v9.npy", v9, "version 9.0");
    }

    // ---- npz ------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "compressed={0}")
    @CsvSource({"true", "false"})
    void npzRoundTrip(boolean compressed) {
        SplittableRandom rnd = new SplittableRandom(5);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("weight_ih_l0", SafetensorsTest.random(rnd, Precision.FP32, 6, 4));
        in.put("bias_ih_l0", SafetensorsTest.random(rnd, Precision.FP32, 6));
        Path f = dir.resolve("w.npz");
        Npz.write(f, in, Precision.FP32, compressed);
        assertThat(Npz.read(f)).isEqualTo(in);
        Npz.write(f, in, Precision.FP64, compressed);
        assertThat(Npz.read(f)).isEqualTo(in);
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    @Test
    void npzProblemsNameArchiveAndEntry() throws IOException {
        Path garbage = dir.resolve("garbage.npz");
        Files.write(garbage, "PK not really a zip".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> Npz.read(garbage)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(garbage.toString(), "not a valid .npz");

        Path bad = dir.resolve("bad.npz");
        Files.write(bad, zip(Map.of("x.npy", npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]))));
        assertThatThrownBy(() -> Npz.read(bad)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(bad + ":x.npy", "big-endian");

        Path other = dir.resolve("other.npz");
        Files.write(other, zip(Map.of("readme.txt", new byte[] {1})));
        assertThatThrownBy(() -> Npz.read(other)).isInstanceOf(SprnnException.class)
                .hasMessageContainingAll(other + ":readme.txt", "not a .npy");

        byte[] good = zip(Map.of("x.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (64,), }", new byte[256])));
        Path cut = dir.resolve("cut.npz");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length - 30));
        assertThatThrownBy(() -> Npz.read(cut)).isInstanceOf(SprnnException.class).hasMessageContaining(cut.toString());
    }
}
