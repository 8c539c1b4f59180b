package org.sprnn.io;

// Untrusted.quote and escape: what each kind of character becomes, where text is cut, and that the result
// is always one short printable line whatever the input.

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UntrustedTest {

    @Test
    void plainTextIsQuotedAsItIs() {
        assertThat(Untrusted.quote("weight_ih_l0")).isEqualTo("'weight_ih_l0'");
        assertThat(Untrusted.quote("")).isEqualTo("''");
        assertThat(Untrusted.quote("poids_été_λ")).as("printable non-ASCII stays").isEqualTo("'poids_été_λ'");
        assertThat(Untrusted.quote("😀")).isEqualTo("'😀'");
        assertThat(Untrusted.quote(null)).isEqualTo("null");
        assertThat(Untrusted.escape("a.npy")).isEqualTo("a.npy");
    }

    @Test
    void quotesAndBackslashesAreEscapedAsPythonDoes() {
        assertThat(Untrusted.quote("it's")).isEqualTo("\"it's\"");
        assertThat(Untrusted.quote("say \"hi\"")).isEqualTo("'say \"hi\"'");
        assertThat(Untrusted.quote("'\"")).isEqualTo("'\\'\"'");
        assertThat(Untrusted.quote("a\\b")).isEqualTo("'a\\\\b'");
        assertThat(Untrusted.escape("it's \"x\" a\\b")).as("no quotes around it, none escaped").isEqualTo("it's \"x\" a\\\\b");
    }

    @Test
    void printableEscapesOnlyWhatIsNotPrintable() {
        assertThat(Untrusted.printable("--engine 'cp\\x1bu': unknown")).as("already escaped text stays as it is")
                .isEqualTo("--engine 'cp\\x1bu': unknown");
        assertThat(Untrusted.printable("a\nb\u001b[2Jc\u202ed\ud800")).isEqualTo("a\\x0ab\\x1b[2Jc\\u202ed\\ud800");
        assertThat(Untrusted.printable("x".repeat(1000))).as("never cut").hasSize(1000);
        assertThat(Untrusted.printable("µs ≤ 3e-3 × 2 'q' \"d\"")).isEqualTo("µs ≤ 3e-3 × 2 'q' \"d\"");
        assertThat(Untrusted.printable(null)).isEqualTo("null");
    }

    @Test
    void controlAndInvisibleCharactersAreEscaped() {
        assertThat(Untrusted.quote("a\nb\rc\td\0")).isEqualTo("'a\\x0ab\\x0dc\\x09d\\x00'");
        assertThat(Untrusted.quote("\u001b[31mred")).isEqualTo("'\\x1b[31mred'");
        assertThat(Untrusted.quote("\u007f\u0085\u009b\u00a0")).as("DEL, C1 controls (NEL, CSI), no-break space")
                .isEqualTo("'\\x7f\\x85\\x9b\\xa0'");
        assertThat(Untrusted.quote("abc\u202edef\u200b\u2028\u2029")).as("bidi override, zero-width space, separators")
                .isEqualTo("'abc\\u202edef\\u200b\\u2028\\u2029'");
        assertThat(Untrusted.quote("\ud800x\udc00")).as("lone surrogates").isEqualTo("'\\ud800x\\udc00'");
        assertThat(Untrusted.quote("\ue000\udb80\udc00")).as("private use, BMP and plane 15")
                .isEqualTo("'\\ue000\\U000f0000'");
        assertThat(Untrusted.quote("\u0378")).as("unassigned").isEqualTo("'\\u0378'");
    }

    @Test
    void longTextIsCutWithItsFullLength() {
        String q = Untrusted.quote("x".repeat(1_000_000));
        assertThat(q).isEqualTo("'" + "x".repeat(Untrusted.MAX_SHOWN) + "'... (1000000 characters in all)");
        assertThat(Untrusted.quote("x".repeat(Untrusted.MAX_SHOWN))).isEqualTo("'" + "x".repeat(Untrusted.MAX_SHOWN) + "'");
        assertThat(Untrusted.quote("\n".repeat(100), 20)).as("the limit counts escaped characters, never splits one")
                .isEqualTo("'" + "\\x0a".repeat(5) + "'... (100 characters in all)");
        assertThat(Untrusted.escape("y".repeat(500))).isEqualTo("y".repeat(Untrusted.MAX_SHOWN) + "... (500 characters in all)");
    }

    @Test
    void anyTextBecomesOneShortPrintableLine() {
        SplittableRandom rnd = new SplittableRandom(20_250_612);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder s = new StringBuilder();
            int n = rnd.nextInt(300);
            for (int k = 0; k < n; k++) {
                s.append((char) (rnd.nextBoolean() ? rnd.nextInt(0x100) : rnd.nextInt(0x10000)));
            }
            String q = Untrusted.quote(s.toString());
            assertThat(q.length()).as("seed 20250612, string %d", i).isLessThanOrEqualTo(Untrusted.MAX_SHOWN + 40);
            assertThat(q.codePoints().filter(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || Character.getType(c) == Character.SURROGATE || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR).count())
                    .as("seed 20250612, string %d: %s", i, q).isZero();
        }
    }
}
