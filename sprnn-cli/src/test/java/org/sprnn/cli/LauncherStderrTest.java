package org.sprnn.cli;

// The launchers' stderr filter, run as they run it (the line is read from ./sprnn and from the bundle
// launcher that scripts/dist.sh writes): the JVM's incubator warning is gone, the CLI's error is the one
// line on stderr, and after LauncherStderr.restore() the JVM's descriptor 2 is the caller's own again,
// so that nothing printed later goes through the filter (and so none of it can arrive after exit).

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LauncherStderrTest {
    @TempDir
    Path dir;

    /** The repository root (tests run in the module's directory). */
    private static Path root() {
        Path r = Path.of("").toAbsolutePath().getParent();
        assertThat(r.resolve("sprnn")).as("the launcher in the repository root").isRegularFile();
        return r;
    }

    /** The launcher's line that sets up the filter: {@code exec 3>&2 2> >(...)}. */
    private static String filterLine(Path script) throws IOException {
        List<String> lines = Files.readAllLines(script).stream().map(String::strip)
                .filter(l -> l.startsWith("exec 3>&2 2> >(")).toList();
        assertThat(lines).as("one filter line in " + script).hasSize(1);
        return lines.get(0);
    }

    @Test
    void bothLaunchersFilterTheSameWay() throws IOException {
        assertThat(filterLine(root().resolve("scripts/dist.sh"))).isEqualTo(filterLine(root().resolve("sprnn")));
    }

    @Test
    void bothLaunchersGiveTheJvmTheVectorApiAndNativeAccess() throws IOException {
        for (Path script : List.of(root().resolve("sprnn"), root().resolve("scripts/dist.sh"))) {
            List<String> javaLines = Files.readAllLines(script).stream().map(String::strip)
                    .filter(l -> l.startsWith("exec \"$JAVA_HOME/bin/java\"") || l.startsWith("exec \"$home/runtime/bin/java\""))
                    .toList();
            assertThat(javaLines).as("one java line in " + script).hasSize(1);
            assertThat(javaLines.get(0)).as(script.toString())
                    .contains("--enable-native-access=ALL-UNNAMED").contains("--add-modules jdk.incubator.vector");
        }
    }

    /** Runs {@code mainClass args} in a JVM started behind the launcher's filter; stderr goes to {@code err}. */
    private Process launch(Path out, Path err, String mainClass, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = filterLine(root().resolve("sprnn")) + "\n"
                + "exec \"$0\" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector"
                + " -D" + LauncherStderr.FD_PROPERTY + "=3 \"-D" + LauncherStderr.FILTER_PID_PROPERTY + "=$!\""
                + " -cp \"$1\" \"${@:2}\"";
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", "-c", script, java, System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    /** Child JVM: restores stderr as Main does, then says where descriptors 2 and 3 lead and writes a line to stderr. */
    public static final class Probe {
        public static void main(String[] args) throws IOException {
            LauncherStderr.restore();
            Path fd3 = Path.of("/proc/self/fd/3");
            System.out.println("fd2=" + Files.readSymbolicLink(Path.of("/proc/self/fd/2")));
            System.out.println("fd3=" + (Files.exists(fd3, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? Files.readSymbolicLink(fd3) : "closed"));
            System.err.println("probe: the last line");
        }
    }

    @Test
    void afterRestoreTheJvmWritesStraightToTheCallersStderr() throws Exception {
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        Process p = launch(out, err, Probe.class.getName());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> said = Files.readAllLines(out);
        assertThat(p.exitValue()).as("stdout %s, stderr %s", said, Files.readString(err)).isZero();
        assertThat(said).contains("fd2=" + err.toRealPath());
        Path errReal = err.toRealPath();
        assertThat(said).as("the spare descriptor is closed").noneMatch(l -> l.equals("fd3=" + errReal));
        assertThat(Files.readAllLines(err, StandardCharsets.UTF_8)).as("no incubator warning; the probe's line, read at once")
                .containsExactly("probe: the last line");
    }

    @Test
    void cliErrorBehindTheFilterIsExactlyOneLine() throws Exception {
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        Process p = launch(out, err, Main.class.getName(), "run", "--model", dir.resolve("none.safetensors").toString(),
                "--input", "x.npy", "--output", "y.npy");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(Main.EXIT_USAGE);
        assertThat(Files.readAllLines(err, StandardCharsets.UTF_8))
                .containsExactly("sprnn run: " + dir.resolve("none.safetensors") + ": no such file");
    }
}
