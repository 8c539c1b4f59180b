package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/** The native-resource owner: reverse order, every resource closed, the first failure rethrown, idempotent. */
class ResourcesTest {

    @Test
    void closesInReverseOrderEveryOneEvenAfterAFailureAndRethrowsTheFirst() {
        List<String> log = new ArrayList<>();
        Resources r = new Resources();
        r.add(() -> log.add("a"));
        r.add(() -> {
            log.add("b");
            throw new IllegalStateException("b failed");
        });
        r.add(() -> {
            log.add("c");
            throw new java.io.IOException("c failed");
        });
        assertThat(r.size()).isEqualTo(3);
        assertThatThrownBy(r::close).isInstanceOf(SprnnException.class).hasMessageContaining("c failed");
        assertThat(log).containsExactly("c", "b", "a");
        r.close(); // idempotent: nothing closed twice
        assertThat(log).containsExactly("c", "b", "a");
        assertThat(r.isClosed()).isTrue();
    }

    @Test
    void addingToAClosedOwnerClosesTheResourceAndFails() {
        List<String> log = new ArrayList<>();
        Resources r = new Resources();
        r.close();
        assertThatThrownBy(() -> r.add(() -> log.add("late"))).isInstanceOf(SprnnException.class).hasMessageContaining("after close");
        assertThat(log).containsExactly("late");
    }

    @Test
    void closeAfterAFailedBuildKeepsTheOriginalErrorAndAttachesTheClosingOne() {
        Resources r = new Resources();
        r.add(() -> {
            throw new IllegalStateException("close failed");
        });
        IllegalArgumentException build = new IllegalArgumentException("build failed");
        r.closeAfter(build);
        assertThat(build.getSuppressed()).hasSize(1);
        assertThat(build.getSuppressed()[0]).hasMessage("close failed");
        assertThat(r.isClosed()).isTrue();
    }
}
