/**
 * The model, before anything else is done to it: a stack of recurrent layers of one {@link org.sprnn.model.CellType}
 * ({@link org.sprnn.model.RnnModel}, {@link org.sprnn.model.Layer}) with PyTorch's names, shapes and gate order, the
 * host arrays that carry weights, inputs and outputs ({@link org.sprnn.model.Tensor} in float64,
 * {@link org.sprnn.model.FloatTensor} in float32), and reproducible random models and inputs
 * ({@link org.sprnn.model.SyntheticModels}).
 *
 * <p>First in the pipeline: imports nothing of sprnn but {@link org.sprnn.SprnnException}; every other package
 * may import it.
 */
package org.sprnn.model;
