package org.sprnn.sparse;

import org.sprnn.Precision;
import org.sprnn.SprnnException;

/**
 * The one definition of the on-chip word that holds one nonzero of {@code W_hh}: 32 bits, the value's
 * 16-bit encoding ({@link Precision#encode(float)}, fp16 or bf16) in the low half and the column index in the high half.
 *
 * <pre>
 *   bit 31 ........ 16 | 15 ......... 0
 *        column (u16)  | value (fp16 or bf16 bits)
 * </pre>
 *
 * The kernel decodes it with {@code sprnn_word_column} / {@code sprnn_word_value_bits} in
 * {@code org/sprnn/kernels/sparse_persistent_rnn.cuh} ({@code column = w >> 16}, {@code bits = w & 0xFFFF});
 * {@code PackedWordContractTest} compiles that header on the host and holds the two together. The column
 * is the shift of one instruction so the shared-memory address is {@code column * rowBytes}.
 */
public final class PackedWord {
    /** Bits the column index is shifted by. Matches {@code SPRNN_WORD_COLUMN_SHIFT} in the .cuh. */
    public static final int COLUMN_SHIFT = 16;
    /** Largest column index a word can carry (the zero columns above {@code H} included). */
    public static final int MAX_COLUMN = 0xFFFF;

    private PackedWord() {
    }

    /** Packs {@code value} (rounded to {@code format}) and {@code column} into one word. */
    public static int pack(float value, int column, Precision format) {
        if (column < 0 || column > MAX_COLUMN) {
            throw new SprnnException("packed word: column " + column + " outside [0, " + MAX_COLUMN + "]");
        }
        return (column << COLUMN_SHIFT) | (format.encode(value) & 0xFFFF);
    }

    /** The column index of a word. */
    public static int column(int word) {
        return word >>> COLUMN_SHIFT;
    }

    /** The 16 value bits of a word. */
    public static short valueBits(int word) {
        return (short) (word & 0xFFFF);
    }

    /**
     * The dense word ({@code SPRNN_DENSE}, {@code sparse_persistent_rnn.cuh}): two weights of adjacent columns of one row
     * and no column, {@code lo} (column {@code 2q}) in bits 0-15, {@code hi} (column {@code 2q + 1}) in bits 16-31, each
     * rounded to {@code format}; the kernel knows the columns from the word's lane and slot.
     */
    public static int packPair(float lo, float hi, Precision format) {
        return (format.encode(hi) << DENSE_HI_SHIFT) | (format.encode(lo) & 0xFFFF);
    }

    /** Bits the second weight of a dense word is shifted by. Matches {@code SPRNN_DENSE_HI_SHIFT} in the .cuh. */
    public static final int DENSE_HI_SHIFT = 16;

    /** The first weight (column {@code 2q}) of a dense word as float32. */
    public static float pairLo(int word, Precision format) {
        return format.decode((short) (word & 0xFFFF));
    }

    /** The second weight (column {@code 2q + 1}) of a dense word as float32. */
    public static float pairHi(int word, Precision format) {
        return format.decode((short) (word >>> DENSE_HI_SHIFT));
    }

    /** The value of a word as float32. */
    public static float value(int word, Precision format) {
        return format.decode(valueBits(word));
    }
}
