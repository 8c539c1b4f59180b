package org.sprnn;

import java.nio.file.Path;

/** Where sprnn keeps what it may recompute (compiled kernels, tuning trials): one root for every cache. */
public final class CacheDir {
    private CacheDir() {
    }

    /** The system property {@code sprnn.cache}, else {@code $SPRNN_CACHE}, else {@code ~/.cache/sprnn}. */
    public static Path root() {
        String prop = System.getProperty("sprnn.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("SPRNN_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "sprnn");
    }
}
