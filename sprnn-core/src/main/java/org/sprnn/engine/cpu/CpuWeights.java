// CpuWeights.java — the cpu engine's weights, packed once per engine and never written again: every run and
// every worker reads them, so they carry no per-run state.
package org.sprnn.engine.cpu;

import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.sparse.CsrMatrix;

/**
 * A model's layers in the {@code cpu} engine's form: W_ih and W_hh as unit-major CSR ({@link UnitMajorCsr}, made
 * from each matrix's {@link CsrMatrix}: the G gate rows of a unit are adjacent, so a worker that owns a unit owns all
 * its rows), the biases in the same row order, and which contiguous range of units each worker owns, balanced by
 * nonzeros.
 */
final class CpuWeights {
    final CellType cell;
    final int gates;
    final int hidden;
    final int inputSize;
    final PackedLayer[] layers; // [L]

    /**
     * One layer's weights, and which units each worker owns.
     *
     * @param wHhOffsets4 W_hh's column indices times 4 ({@link #offsetsTimes4}), or null
     * @param bIh         [G*H] b_ih, rows unit-major
     * @param bHh         [G*H] b_hh, rows unit-major
     * @param unitStart   [workers + 1] worker w owns units [unitStart[w], unitStart[w + 1])
     * @param maxAbsBHh   the largest |b_hh|, for the cheap recurrent-overflow test
     */
    record PackedLayer(UnitMajorCsr wIh, UnitMajorCsr wHh, char[] wHhOffsets4, float[] bIh, float[] bHh,
                       int[] unitStart, double maxAbsBHh) {
    }

    /** Multiply-adds per column (one step of one sequence) over every layer: the nonzeros of W_ih and W_hh. */
    long macsPerColumn() {
        long n = 0;
        for (PackedLayer l : layers) {
            n += (long) l.wIh().nnz() + l.wHh().nnz();
        }
        return n;
    }

    /**
     * Packs every layer of {@code model} for {@code workers} workers.
     *
     * @throws SprnnException if a matrix is wider than 65,536 columns
     */
    CpuWeights(RnnModel model, int workers, boolean vectorApi) {
        this.cell = model.cell();
        this.gates = cell.gates();
        this.hidden = model.hiddenSize();
        this.inputSize = model.inputSize();
        if (inputSize > UnitMajorCsr.MAX_COLS || hidden > UnitMajorCsr.MAX_COLS) {
            throw new SprnnException("cpu engine: input size " + inputSize + " or hidden size " + hidden
                    + " exceeds " + UnitMajorCsr.MAX_COLS + " (16-bit column indices)");
        }
        List<Layer> ls = model.layers();
        this.layers = new PackedLayer[ls.size()];
        for (int k = 0; k < ls.size(); k++) {
            Layer l = ls.get(k);
            UnitMajorCsr ih = UnitMajorCsr.pack(CsrMatrix.of(l.wIh()), gates, hidden);
            UnitMajorCsr hh = UnitMajorCsr.pack(CsrMatrix.of(l.wHh()), gates, hidden);
            layers[k] = new PackedLayer(ih, hh, offsetsTimes4(hh, hidden, vectorApi), UnitMajorCsr.unitMajor(l.bIh(), gates, hidden),
                    UnitMajorCsr.unitMajor(l.bHh(), gates, hidden), balance(ih, hh, workers), maxAbs(l.bHh().data()));
        }
    }

    /**
     * Bytes of weights in one pass over every layer's nonzeros, W_ih and W_hh: 6 per nonzero (fp32 value +
     * 16-bit column index).
     */
    long streamedBytes() {
        long b = 0;
        for (PackedLayer l : layers) {
            b += l.wIh.streamedBytes() + l.wHh.streamedBytes();
        }
        return b;
    }

    /**
     * W_hh's column indices times 4 ({@code [nnz]}, the offsets of {@code h[c][0]} at batch 4) for
     * {@link VectorKernels#rowDot4Offsets}, or null where the Vector API is off or {@code 4 * hidden}
     * does not fit 16 bits.
     */
    private static char[] offsetsTimes4(UnitMajorCsr hh, int hidden, boolean vectorApi) {
        if (!vectorApi || 4L * hidden > UnitMajorCsr.MAX_COLS) {
            return null;
        }
        char[] col = hh.col(), off = new char[col.length];
        for (int k = 0; k < col.length; k++) {
            off[k] = (char) (col[k] * 4);
        }
        return off;
    }

    /** Splits units into {@code workers} contiguous ranges of about equal nonzeros (both matrices). */
    private int[] balance(UnitMajorCsr ih, UnitMajorCsr hh, int workers) {
        long total = (long) ih.nnz() + hh.nnz() + hidden; // + 1 per unit for the cell update
        int[] start = new int[workers + 1];
        long sum = 0;
        int w = 1;
        for (int u = 0; u < hidden && w < workers; u++) {
            sum += ih.unitNnz(u, gates) + hh.unitNnz(u, gates) + 1;
            while (w < workers && sum * workers >= total * w) {
                start[w++] = u + 1;
            }
        }
        while (w < workers) {
            start[w++] = hidden;
        }
        start[workers] = hidden;
        return start;
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
