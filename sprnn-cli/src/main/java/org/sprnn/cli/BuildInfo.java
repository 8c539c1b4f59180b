package org.sprnn.cli;

/**
 * The commit sprnn was built from, for benchmark rows: the launchers pass it as {@code -Dsprnn.commit} (the repository's
 * {@code ./sprnn} asks git at each start, {@code scripts/dist.sh} writes it into the bundle's launcher).
 */
final class BuildInfo {
    private BuildInfo() {
    }

    static String commit() {
        String c = System.getProperty("sprnn.commit", "").strip();
        return c.isEmpty() || !c.matches("[0-9a-f]{4,40}(-dirty)?") ? "unknown" : c;
    }
}
