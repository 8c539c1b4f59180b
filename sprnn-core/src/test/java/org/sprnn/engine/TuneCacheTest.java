package org.sprnn.engine;

// The tuning cache: figures round-trip per key; a damaged, oversized or hostile file is no cache (never an
// error); an unwritable place is a note, not a failure.

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;

class TuneCacheTest {
    @TempDir
    Path dir;

    private static String key(int batch) {
        RnnModel m = SyntheticModels.random(CellType.LSTM, 8, 32, 2, 0.25, 1.0, 5);
        return TuneCache.key("H100 132 SMs", "cuda-gemm", EngineOptions.builder().batchHint(batch).build(), m);
    }

    @Test
    void figuresRoundTripPerKey() throws Exception {
        TuneCache c = new TuneCache(dir.resolve("sub").resolve("tune.properties"));
        assertThat(c.get(key(4))).isEmpty();
        assertThat(c.put(key(4), 3.25)).isEmpty();
        assertThat(c.put(key(8), 4.5)).isEmpty();
        assertThat(new TuneCache(c.file()).get(key(4))).contains(3.25);
        assertThat(c.get(key(8))).contains(4.5);
        assertThat(key(4)).contains("cuda-gemm", "fp16", "lstm", "L2", "I8", "H32", "B4").doesNotContain("B8");
        try (var s = Files.list(c.file().getParent())) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("tune.properties");
        }
    }

    @Test
    void aDamagedOrHostileFileIsNoCache() throws Exception {
        Path f = dir.resolve("tune.properties");
        TuneCache c = new TuneCache(f);
        Files.writeString(f, key(4).replace(" ", "\\ ") + "=NaN\n" + key(8).replace(" ", "\\ ") + "=-1\nbroken\\u12");
        assertThat(c.get(key(4))).isEmpty();
        assertThat(c.get(key(8))).isEmpty();
        Files.write(f, new byte[(int) TuneCache.MAX_BYTES + 10]);
        assertThat(c.get(key(4))).isEmpty();
        Files.delete(f);
        Files.createDirectory(f); // a directory where the file should be
        assertThat(c.get(key(4))).isEmpty();
        assertThat(c.put(key(4), 1.0)).hasValueSatisfying(why -> assertThat(why).contains("not written"));
    }
}
