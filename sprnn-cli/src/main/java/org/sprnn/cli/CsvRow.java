package org.sprnn.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/** One CSV line of the benchmark files: doubles to 4 significant digits, null empty, free text quoted where it must be. */
final class CsvRow {
    private CsvRow() {
    }

    /**
     * Appends rows to a CSV file, writing the header first where the file is new; refuses (before writing anything) a file
     * whose first line is another header: rows of another layout, e.g. from an older sprnn, would sit under the wrong
     * column names.
     */
    static void append(java.nio.file.Path csv, String header, CharSequence rows) throws java.io.IOException {
        String first = check(csv, header);
        java.nio.file.Files.writeString(csv, (first == null ? header + "\n" : "") + rows, java.nio.charset.StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    /** Refuses a file of another header (see {@link #append}) before any work; returns its first line, null where new. */
    static String check(java.nio.file.Path csv, String header) throws java.io.IOException {
        String first = null;
        if (java.nio.file.Files.exists(csv)) {
            try (var r = java.nio.file.Files.newBufferedReader(csv, java.nio.charset.StandardCharsets.UTF_8)) {
                first = r.readLine();
            } catch (java.nio.charset.CharacterCodingException e) {
                first = "";
            }
        }
        if (first != null && !first.equals(header)) {
            throw new org.sprnn.SprnnException(org.sprnn.io.Untrusted.quote(csv.toString()) + ": holds rows of another layout (its "
                    + "header differs from this sprnn's); give a new --out-dir");
        }
        return first;
    }

    /** One writer of the JSON-lines twins of the CSV files (thread-safe once configured). */
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * Appends rows, each a map of column to value in the header's order, to {@code DIR/NAME.csv} (see {@link #append}) and
     * to {@code DIR/NAME.jsonl}, one JSON object a line.
     */
    static void appendRows(java.nio.file.Path dir, String name, String header, List<? extends java.util.Map<String, ?>> rows)
            throws java.io.IOException {
        StringBuilder csv = new StringBuilder(), jsonl = new StringBuilder();
        for (var row : rows) {
            csv.append(of(row.values())).append('\n');
            jsonl.append(JSON.writeValueAsString(row)).append('\n');
        }
        append(dir.resolve(name + ".csv"), header, csv);
        java.nio.file.Files.writeString(dir.resolve(name + ".jsonl"), jsonl, java.nio.charset.StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }

    /**
     * A row's first columns, where and with what it was measured: date, device, driver, nvrtc, cublaslt, cusparse,
     * cudnn, commit (from {@code GpuStatus.versions()}); the caller adds its own columns after them.
     */
    static java.util.Map<String, Object> environment(java.util.Map<String, String> env) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("date", java.time.Instant.now().toString());
        m.put("device", env.get("device"));
        m.put("driver", env.get("driver"));
        m.put("nvrtc", env.get("NVRTC"));
        m.put("cublaslt", env.get("cuBLASLt"));
        m.put("cusparse", env.get("cuSPARSE"));
        m.put("cudnn", env.get("cuDNN"));
        m.put("commit", BuildInfo.commit());
        return m;
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
