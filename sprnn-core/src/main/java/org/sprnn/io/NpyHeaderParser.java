package org.sprnn.io;

// The bounded Python-literal parser behind every .npy header (and so every .npz member): a .npy header
// is a Python dict literal, and this reads one without evaluating anything, with every loop and the
// recursion bounded (nesting at most Npy.MAX_NESTING; the text itself is at most Npy.MAX_HEADER_BYTES,
// checked before it gets here). It only parses: what the values must be is NpyHeader's business.

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;

/**
 * Parses a .npy header's Python literal: a dict of string keys whose values are strings, True/False,
 * numbers, or tuples/lists of those (structured descrs are lists of tuples), nested at most
 * {@value Npy#MAX_NESTING} deep. Nothing is evaluated. Integers in long range come back as {@link Long},
 * tuples and lists as {@link List}, other numbers as {@link PyNumber}.
 */
final class NpyHeaderParser {

    /**
     * A number of the header that is not an integer in long range: a float ({@code 144.0}, {@code 1e3}) or
     * an integer too large; kept as its text (digits, sign, point, exponent only, cut at 40) for messages.
     */
    record PyNumber(String text, boolean isFloat) {
    }

    private final String s;
    private final String where;
    private int pos;

    NpyHeaderParser(String s, String where) {
        this.s = s;
        this.where = where;
    }

    Map<String, Object> parseDict() {
        skipSpace();
        expect('{');
        Map<String, Object> dict = new LinkedHashMap<>();
        while (true) {
            skipSpace();
            if (peek() == '}') {
                pos++;
                break;
            }
            Object key = value(1);
            if (!(key instanceof String k)) {
                throw bad("dict key is not a string");
            }
            skipSpace();
            expect(':');
            Object v = value(1);
            if (dict.put(k, v) != null) {
                throw bad("duplicate key " + Untrusted.quote(k));
            }
            skipSpace();
            if (peek() == ',') {
                pos++;
            } else if (peek() != '}') {
                throw bad("expected ',' or '}'");
            }
        }
        skipSpace();
        if (pos != s.length()) {
            throw bad("text after the dict");
        }
        return dict;
    }

    /** A value at nesting {@code depth} (the dict's own values are at 1). */
    private Object value(int depth) {
        skipSpace();
        char c = peek();
        if (c == '\'' || c == '"') {
            int end = s.indexOf(c, pos + 1);
            if (end < 0) {
                throw bad("unterminated string");
            }
            String v = s.substring(pos + 1, end);
            pos = end + 1;
            return v;
        }
        if (c == '(' || c == '[') {
            if (depth > Npy.MAX_NESTING) {
                throw bad("tuples and lists nested deeper than " + Npy.MAX_NESTING + " levels");
            }
            char close = c == '(' ? ')' : ']';
            pos++;
            List<Object> items = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == close) {
                    pos++;
                    return items;
                }
                items.add(value(depth + 1));
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != close) {
                    throw bad("expected ',' or '" + close + "'");
                }
            }
        }
        if (s.startsWith("True", pos)) {
            pos += 4;
            return Boolean.TRUE;
        }
        if (s.startsWith("False", pos)) {
            pos += 5;
            return Boolean.FALSE;
        }
        return number(c);
    }

    /** A Python int or float literal: [sign] digits [. digits] [e [sign] digits] [L]. */
    private Object number(char first) {
        int start = pos;
        if (first == '-' || first == '+') {
            pos++;
        }
        int digits = skipDigits();
        boolean isFloat = false;
        if (pos < s.length() && s.charAt(pos) == '.') {
            pos++;
            digits += skipDigits();
            isFloat = true;
        }
        if (digits == 0) {
            pos = start;
            throw bad("unexpected character " + Untrusted.quote(String.valueOf(first)));
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            pos++;
            if (pos < s.length() && (s.charAt(pos) == '-' || s.charAt(pos) == '+')) {
                pos++;
            }
            if (skipDigits() == 0) {
                throw bad("exponent without digits");
            }
            isFloat = true;
        }
        String text = s.substring(start, pos);
        // as a message shows it: a 60,000-digit number is cut like any other long text
        String shown = text.length() > 40 ? text.substring(0, 40) + "... (" + text.length() + " characters)" : text;
        if (isFloat) {
            return new PyNumber(shown, true);
        }
        if (pos < s.length() && s.charAt(pos) == 'L') {
            pos++; // Python 2 long suffix, as old numpy wrote it
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return new PyNumber(shown, false);
        }
    }

    private int skipDigits() {
        int start = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
            pos++;
        }
        return pos - start;
    }

    private char peek() {
        if (pos >= s.length()) {
            throw bad("header ends early");
        }
        return s.charAt(pos);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw bad("expected '" + c + "'");
        }
        pos++;
    }

    private void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }

    /** A refusal naming the position and showing the header there (all of it when short). */
    private SprnnException bad(String problem) {
        String text = s.strip().replaceAll("\\s+", " ");
        String shown;
        if (text.length() <= Untrusted.MAX_SHOWN) {
            shown = Untrusted.quote(text);
        } else { // the neighbourhood of the position in the raw header
            int from = Math.max(0, Math.min(pos, s.length()) - 50);
            int to = Math.min(s.length(), from + 80);
            shown = "near " + Untrusted.quote(s.substring(from, to)) + " (" + s.length() + " characters in all)";
        }
        return new SprnnException(where + ": malformed header at character " + pos + " (" + problem + "): " + shown);
    }
}
