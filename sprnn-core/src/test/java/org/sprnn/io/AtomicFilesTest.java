package org.sprnn.io;

// AtomicFiles' promises beyond a single good write: batches are all-or-nothing, targets that are not
// regular files are refused and left as they were, leftovers of dead writers are removed (and nothing
// else is), and a JVM ended by SIGTERM in the middle of a write deletes its temporary file. The SIGTERM
// and SIGKILL cases run a real child JVM (SlowWriter, below) and signal it while it is writing.

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.SprnnException;
import org.sprnn.model.Tensor;

class AtomicFilesTest {
    @TempDir
    Path dir;

    /** Every name in {@code d}, sorted. */
    static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Names in {@code d} that look like temporary files. */
    static List<String> temps(Path d) throws IOException {
        return names(d).stream().filter(n -> n.endsWith(".tmp")).toList();
    }

    private static AtomicFiles.ChannelWriter bytes(String s) {
        return ch -> FileElements.writeFully(ch, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static void mkfifo(Path p) throws IOException, InterruptedException {
        Process mk = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        Assumptions.assumeTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo is not available");
    }

    @Test
    void aReplacedFileKeepsItsPermissionsAndANewOneIsReadable() throws IOException {
        Path priv = dir.resolve("priv.npy"), fresh = dir.resolve("new.npy");
        Files.writeString(priv, "old");
        Files.setPosixFilePermissions(priv, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        AtomicFiles.write(priv, ch -> ch.write(java.nio.ByteBuffer.wrap(new byte[] {1})));
        AtomicFiles.write(fresh, ch -> ch.write(java.nio.ByteBuffer.wrap(new byte[] {1})));
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(priv))).isEqualTo("rw-------");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rw-r--r--");
        assertThat(Files.readAllBytes(priv)).containsExactly(1);
    }

    @Test
    void batchWritesAllFilesInOrder() throws IOException {
        Path a = dir.resolve("a.bin"), b = dir.resolve("b.bin");
        Files.writeString(a, "old a");
        AtomicFiles.batch().add(a, bytes("new a")).add(b, bytes("new b")).write();
        assertThat(Files.readString(a)).isEqualTo("new a");
        assertThat(Files.readString(b)).isEqualTo("new b");
        assertThat(names(dir)).containsExactly("a.bin", "b.bin");
    }

    @Test
    void failingWriterLeavesEveryTargetAsItWas() throws IOException {
        Path a = dir.resolve("a.bin"), b = dir.resolve("b.bin"), c = dir.resolve("c.bin");
        Files.writeString(a, "old a");
        assertThatThrownBy(() -> AtomicFiles.batch().add(a, bytes("new a")).add(b, bytes("new b")).add(c, ch -> {
            ch.write(ByteBuffer.wrap(new byte[4096]));
            throw new IOException("No space left on device");
        }).write()).isInstanceOf(SprnnException.class).hasMessageContainingAll(c.toString(), "No space left on device");
        assertThat(Files.readString(a)).as("first file of the batch").isEqualTo("old a");
        assertThat(names(dir)).as("no new file and no temporary file").containsExactly("a.bin");
    }

    @Test
    void badTargetAnywhereInTheBatchWritesNothing() throws IOException {
        Path a = dir.resolve("a.bin"), bad = dir.resolve("missing").resolve("b.bin");
        boolean[] ran = {false};
        assertThatThrownBy(() -> AtomicFiles.batch().add(a, ch -> ran[0] = true).add(bad, bytes("b")).write())
                .isInstanceOf(SprnnException.class).hasMessageContainingAll(bad.toString(), "does not exist");
        assertThat(ran[0]).as("no writer runs before every target is checked").isFalse();
        assertThat(names(dir)).isEmpty();
    }

    @Test
    void checkRefusesBadTargetsAndWritesNothing() throws IOException {
        Path a = dir.resolve("a.bin");
        boolean[] ran = {false};
        AtomicFiles.Batch good = AtomicFiles.batch().add(a, ch -> ran[0] = true);
        good.check();
        Path link = Files.createSymbolicLink(dir.resolve("l.bin"), a);
        AtomicFiles.Batch bad = AtomicFiles.batch().add(a, ch -> ran[0] = true).add(link, ch -> ran[0] = true);
        assertThatThrownBy(bad::check).isInstanceOf(SprnnException.class).hasMessageContainingAll(link.toString(), "symbolic link");
        assertThat(ran[0]).isFalse();
        assertThat(names(dir)).containsExactly("l.bin");
        good.write();
        assertThat(ran[0]).isTrue();
        assertThat(names(dir)).containsExactly("a.bin", "l.bin");
    }

    @Test
    void sameFileTwiceIsRefused() throws IOException {
        Path a = dir.resolve("a.bin");
        Path again = dir.resolve(".").resolve("a.bin");
        Path viaLink = Files.createSymbolicLink(dir.resolve("link"), dir).resolve("a.bin");
        for (Path other : List.of(a, again, viaLink)) {
            assertThatThrownBy(() -> AtomicFiles.batch().add(a, bytes("1")).add(other, bytes("2")).write())
                    .as(other.toString()).isInstanceOf(SprnnException.class).hasMessageContaining("named twice");
        }
        assertThat(names(dir)).containsExactly("link");
    }

    @Test
    void symbolicLinksAreRefusedAndKept() throws IOException {
        Path real = Files.writeString(dir.resolve("real.bin"), "real");
        Path link = Files.createSymbolicLink(dir.resolve("link.bin"), real);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.bin"), dir.resolve("nowhere"));
        Path toDir = Files.createSymbolicLink(dir.resolve("dirlink"), dir);
        for (Path p : List.of(link, dangling, toDir)) {
            assertThatThrownBy(() -> AtomicFiles.write(p, bytes("new"))).as(p.toString())
                    .isInstanceOf(SprnnException.class).hasMessage(p + ": cannot write: it is a symbolic link, not a regular file "
                            + "(sprnn replaces only regular files)");
            assertThat(Files.isSymbolicLink(p)).isTrue();
        }
        assertThat(Files.readString(real)).isEqualTo("real");
        assertThat(temps(dir)).isEmpty();
    }

    @Test
    void namedPipeIsRefusedAndKept() throws Exception {
        Path fifo = dir.resolve("y.npy");
        mkfifo(fifo);
        assertThatThrownBy(() -> Npy.write(fifo, Tensor.zeros(2))).isInstanceOf(SprnnException.class)
                .hasMessage(fifo + ": cannot write: it is a named pipe (FIFO), not a regular file (sprnn replaces only regular files)");
        assertThat(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(fifo)).isFalse();
        assertThat(names(dir)).containsExactly("y.npy");
    }

    @Test
    void socketIsRefusedAndKept() throws IOException {
        Path sock = dir.resolve("s.npy");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            assertThatThrownBy(() -> Npy.write(sock, Tensor.zeros(2))).isInstanceOf(SprnnException.class)
                    .hasMessageContainingAll(sock.toString(), "it is a socket");
            assertThat(names(dir)).containsExactly("s.npy");
        }
    }

    @Test
    void deviceIsRefusedAndKept() throws Exception {
        // a copy of /dev/null's device node in the temporary directory, so that a failure replaces nothing
        // that matters (making one needs root; /dev/null itself is checked with the same code)
        Path dev = dir.resolve("null");
        Process mk = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").redirectErrorStream(true).start();
        Assumptions.assumeTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mknod needs root");
        assertThatThrownBy(() -> Npy.write(dev, Tensor.zeros(2))).isInstanceOf(SprnnException.class)
                .hasMessage(dev + ": cannot write: it is a character device, not a regular file (sprnn replaces only regular files)");
        assertThat((Integer) Files.getAttribute(dev, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000).isEqualTo(0020000);
        assertThat(names(dir)).containsExactly("null");
    }

    @Test
    void temporaryFileIsHiddenBesideTheTargetAndNamesThisProcess() throws IOException {
        Path target = dir.resolve("y.npy");
        List<List<String>> during = new java.util.ArrayList<>();
        AtomicFiles.write(target, ch -> {
            during.add(names(dir));
            ch.write(ByteBuffer.wrap(new byte[] {1}));
        });
        assertThat(during.get(0)).hasSize(1);
        assertThat(during.get(0).get(0)).matches("\\.y\\.npy\\.sprnn-" + ProcessHandle.current().pid() + "-[0-9a-z]+\\.tmp");
        assertThat(names(dir)).containsExactly("y.npy");
    }

    @Test
    void longestFileNamesStillWrite() throws IOException {
        Path target = dir.resolve("y".repeat(251) + ".npy"); // 255 bytes, the most a name may have
        Npy.write(target, Tensor.zeros(3));
        assertThat(Npy.read(target).shape()).containsExactly(3);
        assertThat(temps(dir)).isEmpty();
    }

    /** A pid that no process has now: a child that has ended. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor(10, TimeUnit.SECONDS);
        long pid = p.pid();
        Assumptions.assumeTrue(ProcessHandle.of(pid).isEmpty(), "pid " + pid + " was reused at once");
        return pid;
    }

    private static Path leftover(Path d, String name, FileTime modified) throws IOException {
        Path p = Files.writeString(d.resolve(name), "partial");
        Files.setLastModifiedTime(p, modified);
        return p;
    }

    @Test
    void leftoversOfDeadWritersOfTheSameTargetAreRemovedAndNothingElse() throws Exception {
        long dead = deadPid();
        long alive = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
        FileTime old = FileTime.from(Instant.now().minusSeconds(3600));
        FileTime fresh = FileTime.from(Instant.now());
        leftover(dir, ".y.npy.sprnn-" + dead + "-abc123.tmp", old);          // removed: writer gone, old
        leftover(dir, ".y.npy.sprnn-" + alive + "-abc123.tmp", old);         // kept: its writer still runs
        leftover(dir, ".y.npy.sprnn-" + dead + "-def456.tmp", fresh);        // kept: changed just now (other pid namespace?)
        leftover(dir, ".z.npy.sprnn-" + dead + "-abc123.tmp", old);          // kept: another target's
        leftover(dir, ".y.npy.sprnn-" + dead + "-abc123.tmp.bak", old);      // kept: not the pattern
        leftover(dir, ".y.npy.1234567.tmp", old);                            // kept: not sprnn's pattern
        leftover(dir, ".x.y.npy.sprnn-" + dead + "-abc123.tmp", old);        // kept: target x.y.npy's
        Path asDir = Files.createDirectory(dir.resolve(".y.npy.sprnn-" + dead + "-0dir.tmp"));
        Files.setLastModifiedTime(asDir, old);                               // kept: not a regular file
        Npy.write(dir.resolve("y.npy"), Tensor.zeros(2));
        assertThat(names(dir)).containsExactlyInAnyOrder("y.npy",
                ".y.npy.sprnn-" + alive + "-abc123.tmp",
                ".y.npy.sprnn-" + dead + "-def456.tmp",
                ".z.npy.sprnn-" + dead + "-abc123.tmp",
                ".y.npy.sprnn-" + dead + "-abc123.tmp.bak",
                ".y.npy.1234567.tmp",
                ".x.y.npy.sprnn-" + dead + "-abc123.tmp",
                ".y.npy.sprnn-" + dead + "-0dir.tmp");
    }

    @Test
    void ownLeftoverThatIsNotInFlightIsRemoved() throws IOException {
        // this pid, but no write of this process has it: a leftover of an earlier process with the same pid
        Path mine = leftover(dir, ".y.npy.sprnn-" + ProcessHandle.current().pid() + "-zzz.tmp", FileTime.from(Instant.now().minusSeconds(3600)));
        Npy.write(dir.resolve("y.npy"), Tensor.zeros(2));
        assertThat(mine).doesNotExist();
    }

    // ---- a real child JVM, signalled while it writes ----

    /** Child JVM: writes {@code args[0]} with a writer that puts 1 MB in the temporary file, says so, then waits. */
    public static final class SlowWriter {
        public static void main(String[] args) {
            AtomicFiles.write(Path.of(args[0]), ch -> {
                FileElements.writeFully(ch, ByteBuffer.wrap(new byte[1 << 20]));
                System.out.println("writing");
                System.out.flush();
                try {
                    Thread.sleep(120_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    /** Starts SlowWriter on {@code target} and returns once its temporary file holds the 1 MB. */
    private static Process startSlowWriter(Path target) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), SlowWriter.class.getName(),
                target.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return null;
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(line).as("the child started writing").isEqualTo("writing");
        return p;
    }

    @Test
    void sigtermDuringAWriteDeletesTheTemporaryFileAndKeepsTheTarget() throws Exception {
        Path target = Files.writeString(dir.resolve("y.npy"), "previous");
        Process p = startSlowWriter(target);
        try {
            assertThat(temps(dir)).as("the write is under way").hasSize(1);
            assertThat(Files.size(dir.resolve(temps(dir).get(0)))).isEqualTo(1 << 20);
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the child ended").isTrue();
            assertThat(p.exitValue()).as("ended by SIGTERM").isEqualTo(128 + 15);
            assertThat(names(dir)).as("no temporary file left").containsExactly("y.npy");
            assertThat(Files.readString(target)).isEqualTo("previous");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void sigkillLeavesTheTemporaryFileForTheNextWriteToRemove() throws Exception {
        Path target = dir.resolve("y.npy");
        Process p = startSlowWriter(target);
        try {
            p.destroyForcibly(); // SIGKILL: no hook runs
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        List<String> left = temps(dir);
        assertThat(left).as("nothing could delete it").hasSize(1);
        assertThat(left.get(0)).startsWith(".y.npy.sprnn-" + p.pid() + "-");
        assertThat(target).doesNotExist();
        // as if the next run came a minute later (a leftover younger than 10 s is left alone)
        Files.setLastModifiedTime(dir.resolve(left.get(0)), FileTime.from(Instant.now().minusSeconds(60)));
        Npy.write(target, Tensor.zeros(2));
        assertThat(names(dir)).containsExactly("y.npy");
    }
}
