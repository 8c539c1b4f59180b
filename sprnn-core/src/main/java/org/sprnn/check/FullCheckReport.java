package org.sprnn.check;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.sprnn.Precision;
import org.sprnn.plan.DeviceLimits;

/**
 * Why this file exists: the output of {@code kernel-check --full} is read by people and by
 * {@code scripts/gpu-suite.sh}, so its text is a contract. This writes it: the markdown table, one row per run as it
 * finishes, then the per-section and per-cell summaries, the kernels that spill, and the one summary line; and it
 * decides what a row's result words mean (a refusal is correct only when it gives the capacity numbers; a row above
 * tolerance whose draw amplifies 16-bit rounding, as the CPU emulation of the kernel's roundings shows, is counted apart
 * from the failures and does not fail the check).
 */
final class FullCheckReport {
    private static final Pattern CAPACITY = Pattern.compile("capacity \\d+ words");

    /** One row of the report. */
    record Row(String section, Precision weights, String cell, String label, String kernel, double error, String result, String note) {
        boolean passed() {
            return result.equals("PASS");
        }

        boolean refused() {
            return result.equals("REFUSED");
        }

        /** Above tolerance on a draw that amplifies 16-bit rounding ({@link RoundingProbe.Explanation#amplified}). */
        boolean amplified() {
            return result.equals("AMPLIFIED");
        }
    }

    private final PrintStream out;
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, String> spills = new TreeMap<>(); // kernel name → registers and local bytes, where local > 0
    private final Set<String> kernelsRun = new HashSet<>();

    FullCheckReport(PrintStream out) {
        this.out = out;
    }

    /** Whether a refusal is a correct one: it names the capacity numbers. */
    static boolean refusedCorrectly(String refusal) {
        return CAPACITY.matcher(refusal).find();
    }

    /** An exception's message as a row's note: on one line. */
    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return m.replace('\n', ' ');
    }

    /** The line naming the device, seed and tolerances, and the table's head. */
    void header(DeviceLimits limits, long seed) {
        out.printf(Locale.ROOT, "%s; seed %d; tolerance %.0e fp16 / %.0e bf16 weights (fp32 accumulation); outputs poisoned%n",
                limits.name(), seed, Precision.FP16.tolerance(), Precision.BF16.tolerance());
        out.println("| section | case | kernel | rel. error | result |");
        out.println("|---|---|---|---|---|");
    }

    /** Whether {@code kernel} is run here for the first time (its compile report is then taken). */
    boolean firstRun(String kernel) {
        return kernelsRun.add(kernel);
    }

    /** A kernel's registers and local bytes, where it uses local memory (register spills). */
    void spill(String kernel, String resources) {
        spills.put(kernel, resources);
    }

    /** Records and prints one row. */
    void add(Row r) {
        rows.add(r);
        out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s%s |%n", r.section(), r.label(), r.kernel(),
                Double.isNaN(r.error()) ? "-" : String.format(Locale.ROOT, "%.2e", r.error()), r.result(),
                r.note().isEmpty() ? "" : ": " + r.note().replace('|', '/'));
    }

    /** Prints the summaries and the closing line; returns the number of failed rows. */
    int summarize(double seconds) {
        int pass = 0, refused = 0, amplified = 0, fail = 0;
        Map<String, int[]> bySection = new LinkedHashMap<>();
        Map<String, double[]> worst = new TreeMap<>(); // cell → worst fp16 error, worst bf16 error
        for (Row r : rows) {
            int[] c = bySection.computeIfAbsent(r.section(), k -> new int[4]);
            if (r.passed()) {
                pass++;
                c[0]++;
                double[] w = worst.computeIfAbsent(r.cell(), k -> new double[] {0, 0});
                if (!Double.isNaN(r.error())) {
                    int i = r.weights() == Precision.BF16 ? 1 : 0;
                    w[i] = Math.max(w[i], r.error());
                }
            } else if (r.refused()) {
                refused++;
                c[1]++;
            } else if (r.amplified()) {
                amplified++;
                c[2]++;
            } else {
                fail++;
                c[3]++;
            }
        }
        out.println();
        out.println("| section | passed | refused correctly | amplified by the draw | failed |");
        out.println("|---|---|---|---|---|");
        bySection.forEach((k, v) -> out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d |%n", k, v[0], v[1], v[2], v[3]));
        out.println();
        out.println("| cell | worst rel. error, fp16 weights (passed rows) | worst, bf16 weights |");
        out.println("|---|---|---|");
        worst.forEach((k, v) -> out.printf(Locale.ROOT, "| %s | %.2e | %.2e |%n", k, v[0], v[1]));
        out.println();
        out.printf(Locale.ROOT, "Kernels with local memory (register spills), %d of %d run (layer 0 of each engine):%n",
                spills.size(), kernelsRun.size());
        spills.forEach((k, v) -> out.printf(Locale.ROOT, "- %s: %s%n", k, v));
        if (amplified > 0) { // listed here too: the table scrolls past, and they do not fail the check
            out.printf(Locale.ROOT, "Rows above tolerance on a draw that amplifies 16-bit rounding (not failures), %d:%n", amplified);
            rows.stream().filter(Row::amplified).forEach(r -> out.printf(Locale.ROOT, "- %s %s (%s): %.2e; %s%n",
                    r.section(), r.label(), r.kernel(), r.error(), r.note().replace('\n', ' ')));
        }
        out.printf(Locale.ROOT, "kernel-check --full: %d passed / %d refused correctly / %d amplified by the draw / %d failed (of %d) in %.0f s%n",
                pass, refused, amplified, fail, rows.size(), seconds);
        return fail;
    }
}
