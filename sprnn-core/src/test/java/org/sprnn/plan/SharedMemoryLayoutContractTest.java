package org.sprnn.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.model.CellType;

/**
 * Holds {@link KernelSpec#sharedMemoryBytes()} and the kernel header's {@code SPRNN_SMEM_BYTES} together (a host
 * program compiled from {@code sparse_persistent_rnn.cuh}), and checks that each activation buffer is a multiple of
 * 16 bytes, so that the second one stays aligned for 16-byte accesses at every hidden size (H = 97 at batch 1 put it
 * at byte 516: a misaligned-address fault on the H100).
 */
class SharedMemoryLayoutContractTest {
    private static final Path HEADER = Path.of("src/main/resources/org/sprnn/kernels/sparse_persistent_rnn.cuh");

    private static List<KernelSpec> specs() {
        List<KernelSpec> out = new ArrayList<>();
        for (CellType c : CellType.values()) {
            for (int h : new int[] {5, 8, 13, 64, 97, 300, 301, 1152, 4095}) {
                for (int b : new int[] {1, 2, 3, 4, 5, 8, 16}) {
                    for (int[] wusr : new int[][] {{3, 1, 4, 4}, {20, 2, 40, 25}, {9, 3, 11, 11}}) {
                        out.add(KernelSpec.builder().cell(c).hidden(h).batch(b).weights(Precision.FP16).ctas(16)
                                .warpsPerCta(wusr[0]).slotsPerLane(wusr[2]).registerSlots(wusr[3]).unitsPerWarp(wusr[1])
                                .wideLoads(true).bankAware(true).exchange(ExchangeMode.CLUSTER).balanced(true).smArch(90).build());
                    }
                }
                for (int b : new int[] {1, 4, 16}) { // a warp tail, its lanes' sums after the tier-2 words (tailSmem) or in registers
                    out.add(KernelSpec.builder().cell(c).hidden(h).batch(b).weights(Precision.FP16).ctas(16).warpsPerCta(16)
                            .slotsPerLane(4 + 3 * c.gates() * 5).registerSlots(12).unitsPerWarp(3).wideLoads(true).bankAware(true)
                            .exchange(ExchangeMode.GRID_BARRIER).balanced(true).smArch(90).uniformSlots(true).rowSlots(5).tailSlots(4)
                            .tailSmem(b != 4).build());
                }
                if (c.gates() == 1) { // one row a warp with a CTA tail: its sums' buffers after the tier-2 words
                    for (int b : new int[] {1, 4, 16}) {
                        out.add(KernelSpec.builder().cell(c).hidden(h).batch(b).weights(Precision.FP16).ctas(16).warpsPerCta(19)
                                .slotsPerLane(21).registerSlots(17).unitsPerWarp(1).wideLoads(true).bankAware(true)
                                .exchange(ExchangeMode.TIMESTAMPS).balanced(true).smArch(90).tailSlots(14).tailEntries(2).build());
                    }
                }
            }
        }
        return out;
    }

    @Test
    void activationBuffersAreSixteenByteMultiples() {
        for (KernelSpec s : specs()) {
            long one = (long) (s.hidden() + 32) * s.rowBytes();
            long ctail = (s.tailEntries() > 0 ? 2L : s.tailSmem() ? 1L : 0L) * s.warpsPerCta() * 32 * s.paddedBatch() * 4;
            long act = s.sharedMemoryBytesWithoutTier2() - ctail
                    - align16((long) s.warpsPerCta() * s.unitsPerWarp() * s.cell().gates() * s.paddedBatch() * 4);
            assertThat(act).as("activation bytes of %s", s.name()).isEqualTo(2 * align16(one)).matches(a -> a % 32 == 0);
        }
    }

    private static long align16(long b) {
        return (b + 15) & ~15L;
    }

    @Test
    void headerComputesTheSameSharedMemoryAsJava(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(onPath("g++"), "g++ not found on PATH: cannot compile the kernel header on the host");
        Path src = dir.resolve("smem.cpp");
        Files.writeString(src, """
                #include <cstdio>
                #include "%s"
                int main() {
                  unsigned h, pb, w, u, g, s, r, ct;
                  // the kernel's SMEM_BYTES: the header's layout, plus a CTA tail's sums where it has one
                  while (std::scanf("%%u %%u %%u %%u %%u %%u %%u %%u", &h, &pb, &w, &u, &g, &s, &r, &ct) == 8)
                    std::printf("%%llu\\n", SPRNN_SMEM_BYTES(h, pb, w, u, g, s, r)
                                + (ct == 1 ? SPRNN_SMEM_CTAIL_BYTES(w, pb) : ct == 2 ? SPRNN_SMEM_CTAIL_BYTES(w, pb) / 2 : 0ull));
                  return 0;
                }
                """.formatted(HEADER.toAbsolutePath()));
        Path exe = dir.resolve("smem");
        Process cc = new ProcessBuilder("g++", "-O1", "-o", exe.toString(), src.toString()).redirectErrorStream(true).start();
        String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(cc.exitValue()).as("g++: %s", log).isZero();
        List<KernelSpec> specs = specs();
        StringBuilder in = new StringBuilder();
        for (KernelSpec s : specs) {
            in.append(s.hidden()).append(' ').append(s.paddedBatch()).append(' ').append(s.warpsPerCta()).append(' ')
                    .append(s.unitsPerWarp()).append(' ').append(s.cell().gates()).append(' ').append(s.slotsPerLane()).append(' ')
                    .append(s.registerSlots()).append(' ').append(s.tailEntries() > 0 ? 1 : s.tailSmem() ? 2 : 0).append('\n');
        }
        Process p = new ProcessBuilder(exe.toString()).start();
        p.getOutputStream().write(in.toString().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String[] lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split("\n");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(lines).hasSize(specs.size());
        for (int i = 0; i < lines.length; i++) {
            assertThat(Long.parseLong(lines[i].trim())).as("SPRNN_SMEM_BYTES vs KernelSpec.sharedMemoryBytes for %s", specs.get(i).name())
                    .isEqualTo(specs.get(i).sharedMemoryBytes());
        }
    }

    private static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }
}
