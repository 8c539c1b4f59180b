package org.sprnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.internal.cuda.CudaLibraries;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

/**
 * A library user's JVM without sprnn's flags: each missing capability is said once on stderr at first use
 * and shows in {@link JvmSupport#describe()}; with the flags nothing is said. Each case is a child JVM
 * started with exactly the flags under test, on this JVM's class path.
 */
class JvmSupportTest {
    record Child(int code, String out, String err) {
    }

    private static Child run(String... jvmFlags) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes(); // small outputs: read one, then the other
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private static int count(String text, String fragment) {
        return (int) text.lines().filter(l -> l.contains(fragment)).count();
    }

    /** Child JVM: two cpu engines and two native library lookups (each a "first use" but only one may speak). */
    public static final class Probe {
        public static void main(String[] args) {
            RnnModel model = SyntheticModels.random(CellType.GRU, 4, 8, 1, 0.5, 1.0, 1);
            for (int i = 0; i < 2; i++) {
                try (CpuEngine e = new CpuEngine(model, 1)) {
                    e.run(SyntheticModels.input(3, 2, 4, i), null, null);
                    System.out.println("vectorLoops=" + e.usesVectorApi());
                }
                CudaLibraries.Found f = CudaLibraries.open("probe", List.of("libsprnn-no-such-library.so.1"));
                System.out.println("problem=" + f.problem());
            }
            JvmSupport.describe().forEach(System.out::println);
        }
    }

    @Test
    void withoutTheFlagsEachGapIsSaidOnceAndShownByDescribe() throws Exception {
        Child c = run();
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(count(c.err(), "sprnn: jdk.incubator.vector is not in this JVM")).as(c.err()).isEqualTo(1);
        assertThat(c.err()).as(c.err()).contains("--add-modules jdk.incubator.vector");
        assertThat(count(c.err(), "sprnn: native access is not enabled")).as(c.err()).isEqualTo(1);
        assertThat(c.err()).as(c.err()).contains("--enable-native-access=ALL-UNNAMED");
        assertThat(c.out()).as(c.out()).contains("vectorLoops=false")
                .contains("Vector API: MISSING").contains("native access: NOT ENABLED");
    }

    @Test
    void withTheFlagsNothingIsSaid() throws Exception {
        Child c = run("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED");
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.err()).as(c.err()).doesNotContain("sprnn:");
        assertThat(c.out()).as(c.out()).contains("vectorLoops=true").contains("Vector API: present")
                .contains("native access: enabled");
    }

    @Test
    void deniedNativeAccessMakesTheLibrariesUnavailableWithTheReason() throws Exception {
        Child c = run("--add-modules", "jdk.incubator.vector", "--illegal-native-access=deny");
        assertThat(c.code()).as(c.err()).isZero();
        assertThat(c.out()).as(c.out()).contains("problem=native access is denied to sprnn in this JVM: start java with"
                + " --enable-native-access=ALL-UNNAMED");
    }
}
