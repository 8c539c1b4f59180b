package org.sprnn.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code sprnn --version}: the project version, the JVM and the OS. */
final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        return new String[] {
            "sprnn " + p.getProperty("version", "unknown"),
            "JVM " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
            "OS " + System.getProperty("os.name") + " " + System.getProperty("os.arch")
        };
    }
}
