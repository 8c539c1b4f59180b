package org.sprnn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** sprnn-bom has no parent, so nothing but this test keeps it in step with the build: same version, every module. */
class BomTest {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent(); // tests run in sprnn-core/

    private static List<String> all(String xml, String regex) {
        Matcher m = Pattern.compile(regex).matcher(xml);
        return m.results().map(r -> r.group(1)).toList();
    }

    /** The project's own version: the first {@code <version>} after the {@code <artifactId>} of the pom. */
    private static String ownVersion(String xml) {
        String noParent = xml.replaceAll("(?s)<parent>.*?</parent>", "");
        Matcher m = Pattern.compile("(?s)<artifactId>[^<]+</artifactId>\\s*<version>([^<]+)</version>").matcher(noParent);
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    @Test
    void theBomHasTheParentsVersionAndListsEveryPublishedModule() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        String bom = Files.readString(ROOT.resolve("sprnn-bom/pom.xml"));
        assertThat(ownVersion(bom)).as("sprnn-bom's version").isEqualTo(ownVersion(parent));
        List<String> published = all(parent, "<module>([^<]+)</module>").stream()
                .filter(m -> !m.equals("sprnn-bom") && !m.equals("examples")).toList();
        assertThat(published).contains("sprnn-core", "sprnn-cli");
        assertThat(all(bom, "<artifactId>(sprnn-[^<]+)</artifactId>")).as("modules managed by sprnn-bom")
                .containsAll(published);
    }
}
