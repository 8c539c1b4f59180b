package org.sprnn.io;

// Text read out of a file (a tensor name, a dtype string, a header, a metadata value, a zip entry name)
// may hold anything: a newline that forges a second line on stderr, an ESC sequence that the terminal
// obeys, a bidi override that reorders what the user reads, a megabyte-long string. Every loader message
// that repeats such text passes it through this one class, which makes it printable, one line and short.

/**
 * Makes file-derived text safe to put into a one-line error message.
 *
 * <p>{@link #quote(String)} gives the text quoted as Python's {@code repr} quotes a string: in single
 * quotes, or double quotes where it holds a single quote and no double one; backslash and that quote are
 * escaped; control characters (C0, DEL, C1), format characters (bidi overrides, zero-width ones), line
 * and paragraph separators, spaces other than U+0020, private-use and unassigned code points and lone
 * surrogates become {@code \xNN}, <code>&#92;uNNNN</code> or {@code \UNNNNNNNN}; everything else printable stays
 * as it is. The escaped text is cut at {@value #MAX_SHOWN} characters, and a cut is marked with an
 * ellipsis and the full length: {@code 'aaaa...'... (1048576 characters in all)}.
 *
 * <p>File paths the user typed are not file contents and are shown as they are by the library; the command line
 * passes its error lines through {@link #printable(String)} before printing them, so no path or option value can
 * break a message's one line or reach the terminal as a control sequence.
 */
public final class Untrusted {

    /** The most characters of escaped text shown of one value. */
    public static final int MAX_SHOWN = 120;

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Untrusted() {
    }

    /**
     * The text in single quotes, escaped and cut at {@value #MAX_SHOWN} characters; {@code null} gives
     * {@code null} (no quotes).
     *
     * @param s text from a file or another untrusted source, or {@code null}
     * @return the quoted, escaped, possibly shortened text, or {@code null}
     */
    public static String quote(String s) {
        return quote(s, MAX_SHOWN);
    }

    /**
     * The text in single quotes, escaped and cut at {@code maxShown} escaped characters (at least 8);
     * {@code null} gives {@code null}.
     *
     * @param s text from a file or another untrusted source, or {@code null}
     * @param maxShown the most escaped characters shown (at least 8)
     * @return the quoted, escaped, possibly shortened text, or {@code null}
     */
    public static String quote(String s, int maxShown) {
        if (s == null) {
            return "null";
        }
        char delimiter = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder().append(delimiter);
        boolean cut = append(out, s, Math.max(8, maxShown), delimiter);
        out.append(delimiter);
        return cut ? out.append("... (").append(s.length()).append(" characters in all)").toString() : out.toString();
    }

    /**
     * The text escaped and cut as {@link #quote(String)} does, but without quotes around it (so quotes in
     * it stay as they are; backslashes are still doubled): for text that sits where a reader expects a
     * bare name (the {@code entry.npy} of {@code archive.npz:entry.npy}) or for a library's message that
     * repeats file content.
     *
     * @param s text from a file or another untrusted source, or {@code null}
     * @return the escaped, possibly shortened text; the four characters {@code null} for {@code null}
     */
    public static String escape(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder();
        boolean cut = append(out, s, MAX_SHOWN, '\\');
        return cut ? out.append("... (").append(s.length()).append(" characters in all)").toString() : out.toString();
    }

    /**
     * What an I/O failure says, for a message: a file system failure's reason, else its text, escaped
     * ({@link #printable}), or, where it has none (a corrupt
     * zip's {@code ZipFile} throws an {@code EOFException} without one), a phrase for its kind.
     *
     * @param e the failure
     * @return one short printable phrase
     */
    public static String why(Throwable e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return printable(f.getReason()); // its message starts with the path, which the caller's message names already
        }
        if (e.getMessage() != null && !e.getMessage().isBlank()) {
            return printable(e.getMessage()); // not cut: a long path must not push the reason out
        }
        return e instanceof java.io.EOFException ? "it ends before its structure does" : "an I/O error with no detail";
    }

    /**
     * The text with only what is not printable escaped ({@code \xNN}, <code>&#92;uNNNN</code>, {@code \UNNNNNNNN}, as
     * {@link #quote(String)} escapes it), nothing quoted, doubled or cut: for a whole message about to be printed as
     * one line, which may already hold escaped file text and repeats the option values and paths a user (or a script
     * fed untrusted names) typed. A newline becomes {@code \x0a}, an ESC {@code \x1b}.
     *
     * @param s a message, or {@code null}
     * @return the message on one printable line; the four characters {@code null} for {@code null}
     */
    public static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if ((Character.isSurrogate(s.charAt(i)) && Character.charCount(cp) == 1) || needsEscape(cp)) {
                hex(out, cp <= 0xFF ? 'x' : cp <= 0xFFFF ? 'u' : 'U', cp, cp <= 0xFF ? 2 : cp <= 0xFFFF ? 4 : 8);
            } else {
                out.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    /**
     * Appends the text with backslash, {@code delimiter} (a quote; backslash again where there is none)
     * and everything not printable escaped, at most {@code max} characters of it; true if it had to cut.
     */
    private static boolean append(StringBuilder out, String s, int max, char delimiter) {
        int start = out.length();
        StringBuilder piece = new StringBuilder(10);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int width = Character.charCount(cp);
            piece.setLength(0);
            escapeCodePoint(piece, s, i, cp, delimiter);
            if (out.length() - start + piece.length() > max) {
                return true;
            }
            out.append(piece);
            i += width;
        }
        return false;
    }

    private static void escapeCodePoint(StringBuilder piece, String s, int i, int cp, char delimiter) {
        if (cp == '\\' || cp == delimiter) {
            piece.append('\\').append((char) cp);
        } else if (Character.isSurrogate(s.charAt(i)) && Character.charCount(cp) == 1) {
            hex(piece, 'u', cp, 4); // a lone surrogate: no code point, not printable
        } else if (needsEscape(cp)) {
            if (cp <= 0xFF) {
                hex(piece, 'x', cp, 2);
            } else if (cp <= 0xFFFF) {
                hex(piece, 'u', cp, 4);
            } else {
                hex(piece, 'U', cp, 8);
            }
        } else {
            piece.appendCodePoint(cp);
        }
    }

    private static boolean needsEscape(int cp) {
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            return true;
        }
        if (cp < 0x7F) {
            return false;
        }
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.UNASSIGNED, Character.SURROGATE,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> true;
            default -> false;
        };
    }

    private static void hex(StringBuilder piece, char kind, int value, int digits) {
        piece.append('\\').append(kind);
        for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
            piece.append(HEX[(value >>> shift) & 0xF]);
        }
    }
}
