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
    static void append(java.nio.file.Path csv, String header, CharSequence rows) {
        String first = check(csv, header);
        // a file that is the header alone without its newline (written by hand, or cut) gets one before the rows
        write(csv, (first == null ? header + "\n" : endsInNewline(csv) ? "" : "\n") + rows);
    }

    private static boolean endsInNewline(java.nio.file.Path file) {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            return size == 0 || ch.read(last, size - 1) == 1 && last.get(0) == '\n';
        } catch (java.io.IOException | SecurityException e) {
            return true; // the append that follows reports what is wrong with the file
        }
    }

    /**
     * Refuses, before any work, a CSV file of another header (see {@link #append}), and a CSV or JSON-lines target that is
     * not a regular file (a directory, a pipe, a device) or cannot be written; returns the CSV's first line, null where
     * new. Reads at most the header's length of it, so an endless file (a link to /dev/zero) is no hang.
     */
    static String check(java.nio.file.Path csv, String header) {
        String name = csv.getFileName().toString();
        writable(csv);
        writable(csv.resolveSibling(name.substring(0, name.length() - ".csv".length()) + ".jsonl"));
        String first = null;
        if (java.nio.file.Files.exists(csv)) {
            try (var r = java.nio.file.Files.newBufferedReader(csv, java.nio.charset.StandardCharsets.UTF_8)) {
                char[] line = new char[header.length() + 1]; // the header and its newline, and no more
                int n = 0;
                for (int k; n < line.length && (k = r.read(line, n, line.length - n)) > 0; ) {
                    n += k;
                }
                first = n == 0 ? null : new String(line, 0, n); // an empty file is a new one: the header goes first
                int nl = first == null ? -1 : first.indexOf('\n');
                first = nl >= 0 ? first.substring(0, nl) : first;
                first = first != null && first.endsWith("\r") ? first.substring(0, first.length() - 1) : first; // CRLF
            } catch (java.nio.charset.CharacterCodingException e) {
                first = "";
            } catch (java.io.IOException e) {
                throw new org.sprnn.SprnnException(org.sprnn.io.Untrusted.quote(csv.toString()) + ": cannot read: "
                        + org.sprnn.io.Untrusted.why(e));
            }
        }
        if (first != null && !first.equals(header)) {
            throw new org.sprnn.SprnnException(org.sprnn.io.Untrusted.quote(csv.toString()) + ": holds rows of another layout (its "
                    + "header differs from this sprnn's); give a new --out-dir");
        }
        return first;
    }

    /** A target rows may be appended to: absent in a writable folder, or a writable regular file. */
    private static void writable(java.nio.file.Path file) {
        String what = org.sprnn.io.Untrusted.quote(file.toString());
        if (java.nio.file.Files.exists(file)) {
            if (!java.nio.file.Files.isRegularFile(file)) {
                throw new org.sprnn.SprnnException(what + ": not a regular file (a directory, pipe or device); give another --out-dir");
            }
            if (!java.nio.file.Files.isWritable(file)) {
                throw new org.sprnn.SprnnException(what + ": not writable");
            }
        } else {
            java.nio.file.Path dir = file.toAbsolutePath().getParent();
            if (dir != null && java.nio.file.Files.isDirectory(dir) && !java.nio.file.Files.isWritable(dir)) {
                throw new org.sprnn.SprnnException(what + ": its folder is not writable");
            }
        }
    }

    /** Appends {@code text} to {@code file}, or one line naming it; returns nothing partly written that it could undo. */
    private static void write(java.nio.file.Path file, CharSequence text) {
        try {
            java.nio.file.Files.writeString(file, text, java.nio.charset.StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException | SecurityException e) {
            throw new org.sprnn.SprnnException(org.sprnn.io.Untrusted.quote(file.toString()) + ": cannot append the rows: "
                    + org.sprnn.io.Untrusted.why(e));
        }
    }

    /** One writer of the JSON-lines twins of the CSV files (thread-safe once configured). */
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * Appends rows, each a map of column to value in the header's order, to {@code DIR/NAME.csv} (see {@link #append}) and
     * to {@code DIR/NAME.jsonl}, one JSON object a line.
     */
    static void appendRows(java.nio.file.Path dir, String name, String header, List<? extends java.util.Map<String, ?>> rows) {
        StringBuilder csv = new StringBuilder(), jsonl = new StringBuilder();
        for (var row : rows) {
            csv.append(of(row.values())).append('\n');
            try {
                jsonl.append(JSON.writeValueAsString(row)).append('\n');
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("a bench row that is not JSON: " + row, e); // our own values: a bug
            }
        }
        java.nio.file.Path csvFile = dir.resolve(name + ".csv"), jsonlFile = dir.resolve(name + ".jsonl");
        boolean csvExisted = java.nio.file.Files.exists(csvFile), jsonlExisted = java.nio.file.Files.exists(jsonlFile);
        long csvBefore = size(csvFile), jsonlBefore = size(jsonlFile);
        append(csvFile, header, csv);
        try {
            write(jsonlFile, jsonl);
        } catch (org.sprnn.SprnnException e) { // both files or neither: take back what this call appended to either
            if (!restore(jsonlFile, jsonlExisted, jsonlBefore) | !restore(csvFile, csvExisted, csvBefore)) {
                throw new org.sprnn.SprnnException(e.getMessage() + " (and the rows appended to "
                        + org.sprnn.io.Untrusted.quote(csvFile.toString()) + " could not be taken back)", e);
            }
            throw e;
        }
    }

    /** {@code file} back to its first {@code size} bytes, or gone where it did not exist; false where that failed. */
    private static boolean restore(java.nio.file.Path file, boolean existed, long size) {
        if (size < 0) {
            return false; // its size was unknown: better an extra row than a truncated file
        }
        try {
            if (!existed) {
                java.nio.file.Files.deleteIfExists(file);
            } else if (java.nio.file.Files.size(file) > size) {
                try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(size);
                }
            }
            return true;
        } catch (java.io.IOException | SecurityException e) {
            return false;
        }
    }

    /** The file's size, 0 where it does not exist, -1 where it cannot be told. */
    private static long size(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.exists(file) ? java.nio.file.Files.size(file) : 0;
        } catch (java.io.IOException | SecurityException e) {
            return -1;
        }
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
