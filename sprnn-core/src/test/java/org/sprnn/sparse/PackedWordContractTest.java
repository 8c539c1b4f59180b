package org.sprnn.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;

/**
 * Holds the Java packer and the kernel header together: the constants in {@code sparse_persistent_rnn.cuh}
 * equal Java's, and a host program compiled from the header decodes Java-packed words and computes bank
 * slots exactly as {@link PackedWord} and {@link SharedMemoryBanks} do.
 */
class PackedWordContractTest {
    private static final Path HEADER = Path.of("src/main/resources/org/sprnn/kernels/sparse_persistent_rnn.cuh");

    private static int define(String header, String name) {
        Matcher m = Pattern.compile("#define\\s+" + name + "\\s+(0x[0-9A-Fa-f]+|\\d+)u?").matcher(header);
        assertThat(m.find()).as("%s defined in %s", name, HEADER).isTrue();
        return Integer.decode(m.group(1));
    }

    @Test
    void headerConstantsMatchJava() throws IOException {
        String h = Files.readString(HEADER);
        assertThat(define(h, "SPRNN_WORD_COLUMN_SHIFT")).isEqualTo(PackedWord.COLUMN_SHIFT);
        assertThat(define(h, "SPRNN_WORD_VALUE_MASK")).isEqualTo(0xFFFF);
        assertThat(define(h, "SPRNN_ZERO_COLUMNS")).isEqualTo(SharedMemoryBanks.ZERO_COLUMNS);
    }

    @Test
    void javaRoundTripsValuesAndColumns() {
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 10_000; i++) {
            int col = rnd.nextInt(PackedWord.MAX_COLUMN + 1);
            float v = (float) (rnd.nextDouble(-4, 4));
            for (Precision f : List.of(Precision.FP16, Precision.BF16)) {
                int w = PackedWord.pack(v, col, f);
                assertThat(PackedWord.column(w)).as("seed %d col %d %s", seed, col, f).isEqualTo(col);
                float back = PackedWord.value(w, f);
                float tol = f == Precision.FP16 ? 1e-3f : 8e-3f;
                assertThat(Math.abs(back - v)).as("seed %d value %s %s", seed, v, f).isLessThanOrEqualTo(tol * Math.max(1f, Math.abs(v)));
            }
        }
        assertThat(PackedWord.value(PackedWord.pack(0f, 7, Precision.FP16), Precision.FP16)).isEqualTo(0f);
    }

    @Test
    void hostProgramFromHeaderDecodesJavaWords(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(hasCompiler(), "g++ not found on PATH: cannot compile the kernel header on the host");
        Path src = dir.resolve("decode.cpp");
        Files.writeString(src, """
                #include <cstdio>
                #include "%s"
                int main() {
                  unsigned w, c, rb, ab;
                  while (std::scanf("%%u %%u %%u %%u", &w, &c, &rb, &ab) == 4)
                    std::printf("%%u %%u %%u\\n", sprnn_word_column(w), sprnn_word_value_bits(w), sprnn_bank_slot(c, rb, ab));
                  return 0;
                }
                """.formatted(HEADER.toAbsolutePath()));
        Path exe = dir.resolve("decode");
        run(List.of("g++", "-O1", "-o", exe.toString(), src.toString()), null);
        long seed = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder in = new StringBuilder();
        List<int[]> expect = new ArrayList<>();
        int[] rowBytes = {4, 8, 16, 32, 64};
        for (int i = 0; i < 2000; i++) {
            int col = rnd.nextInt(PackedWord.MAX_COLUMN + 1);
            Precision f = rnd.nextBoolean() ? Precision.FP16 : Precision.BF16;
            int w = PackedWord.pack((float) rnd.nextDouble(-100, 100), col, f);
            int rb = rowBytes[rnd.nextInt(rowBytes.length)];
            int ab = rnd.nextBoolean() ? 2 : Math.min(rb, 16);
            SharedMemoryBanks banks = new SharedMemoryBanks(rb, ab);
            in.append(Integer.toUnsignedString(w)).append(' ').append(col).append(' ').append(rb).append(' ').append(ab).append('\n');
            expect.add(new int[] {PackedWord.column(w), PackedWord.valueBits(w) & 0xFFFF, banks.slot(col)});
        }
        String out = run(List.of(exe.toString()), in.toString());
        String[] lines = out.strip().split("\n");
        assertThat(lines).as("seed %d", seed).hasSize(expect.size());
        for (int i = 0; i < lines.length; i++) {
            String[] p = lines[i].trim().split(" ");
            int[] e = expect.get(i);
            assertThat(new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])})
                    .as("seed %d line %d", seed, i).containsExactly(e);
        }
    }

    private static boolean hasCompiler() {
        try {
            return new ProcessBuilder("g++", "--version").redirectErrorStream(true).start().waitFor(20, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String run(List<String> cmd, String stdin) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", cmd, out).isZero();
        return out;
    }
}
