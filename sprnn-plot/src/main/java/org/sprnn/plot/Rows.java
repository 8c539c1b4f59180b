package org.sprnn.plot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows of one benchmark CSV file ({@code sprnn bench}, {@code bench grid}, {@code bench sweep},
 * {@code bench ablation}), every field by its column's name. Quoted fields (the free-text columns: notes, variants)
 * may hold commas and doubled quotes.
 *
 * @param file   the file, for messages
 * @param header the column names
 * @param fields one array per data line, as long as the header
 * @param lines  each row's line number in the file (1-based), for messages
 */
public record Rows(Path file, List<String> header, List<String[]> fields, List<Integer> lines) {

    /**
     * Reads a file; refuses (with {@link IllegalArgumentException} naming the file and line) one larger than
     * {@link BenchChart#MAX_BYTES}, an empty one, and lines whose field count is not the header's.
     *
     * @param csv the file
     * @return its rows, in file order (blank lines left out)
     * @throws IOException when it cannot be read
     */
    public static Rows read(Path csv) throws IOException {
        if (Files.size(csv) > BenchChart.MAX_BYTES) {
            throw new IllegalArgumentException(csv + ": " + Files.size(csv) + " bytes, more than a benchmark file's " + BenchChart.MAX_BYTES);
        }
        List<String> text = Files.readAllLines(csv);
        if (text.isEmpty()) {
            throw new IllegalArgumentException(csv + ": empty, expected a header line");
        }
        List<String> head = List.of(split(text.get(0), csv.getFileName() + " line 1"));
        List<String[]> rows = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (int n = 1; n < text.size(); n++) {
            if (text.get(n).isBlank()) {
                continue;
            }
            String where = csv.getFileName() + " line " + (n + 1);
            String[] f = split(text.get(n), where);
            if (f.length != head.size()) {
                throw new IllegalArgumentException(where + ": " + f.length + " fields, the header names " + head.size());
            }
            rows.add(f);
            at.add(n + 1);
        }
        return new Rows(csv, head, rows, at);
    }

    /** One CSV line: fields split at commas outside double quotes; a quoted field's doubled quotes become one. */
    static String[] split(String line, String where) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cur.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        if (quoted) {
            throw new IllegalArgumentException(where + ": a quoted field is not closed");
        }
        out.add(cur.toString());
        return out.toArray(String[]::new);
    }

    /**
     * The index of a column.
     *
     * @param name the column
     * @return its index, or -1 where the file has no such column
     */
    public int column(String name) {
        return header.indexOf(name);
    }

    /**
     * The index of a column the caller cannot do without.
     *
     * @param name the column
     * @return its index
     * @throws IllegalArgumentException naming the file where it has no such column
     */
    public int required(String name) {
        int i = column(name);
        if (i < 0) {
            throw new IllegalArgumentException(file + ": no column '" + name + "' (sprnn plot reads the rows sprnn bench, "
                    + "bench grid and bench sweep write: bench.csv, grid.csv, sweep.csv)");
        }
        return i;
    }
}
