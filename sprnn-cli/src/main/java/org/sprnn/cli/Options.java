package org.sprnn.cli;

import org.sprnn.SprnnException;

/** Checks shared by the commands' option records; each failure names the option. */
final class Options {
    private Options() {
    }

    static void positive(String option, long value) {
        if (value < 1) {
            throw new SprnnException(option + ": must be >= 1, got " + value);
        }
    }

    static void density(String option, double value) {
        if (!(value > 0 && value <= 1)) {
            throw new SprnnException(option + ": must be in (0, 1], got " + value);
        }
    }
}
