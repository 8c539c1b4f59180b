package org.sprnn.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** One CSV line of the benchmark files: doubles to 4 significant digits, null empty, free text quoted where it must be. */
final class CsvRow {
    private CsvRow() {
    }

    static String of(Collection<?> values) {
        List<String> cells = new ArrayList<>();
        for (Object v : values) {
            String s = v == null ? "" : v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
            cells.add(s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
                    ? "\"" + s.replace("\"", "\"\"").replace('\n', ' ').replace('\r', ' ') + "\"" : s);
        }
        return String.join(",", cells);
    }
}
