package org.sprnn.model;

/**
 * The weights of one recurrent layer, named as in a PyTorch state dict ({@code weight_ih_l{k}}, ...).
 *
 * @param wIh input weights {@code [G*H][I]} (G = gates of the cell)
 * @param wHh recurrent weights {@code [G*H][H]}
 * @param bIh input bias {@code [G*H]} (zeros where the model has none)
 * @param bHh recurrent bias {@code [G*H]} (zeros where the model has none)
 */
public record Layer(Tensor wIh, Tensor wHh, Tensor bIh, Tensor bHh) {

    /**
     * Hidden size H.
     *
     * @return H, the columns of W_hh
     */
    public int hiddenSize() {
        return wHh.dim(1);
    }

    /**
     * Input size I.
     *
     * @return I, the columns of W_ih
     */
    public int inputSize() {
        return wIh.dim(1);
    }
}
