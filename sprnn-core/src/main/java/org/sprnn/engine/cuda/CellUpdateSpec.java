package org.sprnn.engine.cuda;

import java.util.LinkedHashMap;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.model.CellType;

/**
 * One specialisation of {@code rnn_cell_update.cu}: the defines it is compiled with and the name that
 * labels its cache file.
 *
 * @param cell          the cell
 * @param hidden        H
 * @param batch         B
 * @param gatesHb       whether the recurrent product arrives as {@code [G*H][B]} (cuSPARSE) rather than {@code [B][G*H]}
 * @param product       precision the recurrent product arrives in (fp32, or {@code elem} for a half-precision SpMM output)
 * @param elem          operand precision
 * @param writeElem     whether h_t is also stored in {@code elem} as {@code [B][H]}
 * @param writeOperandHb whether h_t is also stored in {@code elem} as {@code [H][B]}
 */
record CellUpdateSpec(CellType cell, int hidden, int batch, boolean gatesHb, Precision product, Precision elem, boolean writeElem,
                      boolean writeOperandHb) {

    CellUpdateSpec {
        if (hidden < 1 || batch < 1) {
            throw new IllegalArgumentException("cell update: hidden " + hidden + " and batch " + batch + " must be >= 1");
        }
        if ((long) hidden * batch > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("cell update: hidden × batch = " + (long) hidden * batch + " too large");
        }
    }

    static final String SOURCE = "rnn_cell_update.cu";
    static final String SYMBOL = "rnn_cell_update";
    static final int BLOCK = 256;

    /** e.g. {@code rnn_cell_update_gru_h256_b4_fp16_hb}. */
    String kernelName() {
        return SYMBOL + "_" + cell.id() + "_h" + hidden + "_b" + batch + "_" + elem.id() + (gatesHb ? "_hb" : "_bh")
                + (product != Precision.FP32 ? "_p" + product.id() : "") + (writeElem ? "_e" : "") + (writeOperandHb ? "_o" : "");
    }

    Map<String, String> defines() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("CELL", Integer.toString(cell.kernelCode()));
        d.put("HIDDEN", Integer.toString(hidden));
        d.put("BATCH", Integer.toString(batch));
        d.put("GATES_HB", gatesHb ? "1" : "0");
        d.put("PRODUCT_TYPE", Integer.toString(CudaPrecision.define(product)));
        d.put("ELEM_TYPE", Integer.toString(CudaPrecision.define(elem)));
        d.put("WRITE_ELEM", writeElem ? "1" : "0");
        d.put("WRITE_OPERAND_HB", writeOperandHb ? "1" : "0");
        return d;
    }

    int grid() {
        return (hidden * batch + BLOCK - 1) / BLOCK;
    }
}
