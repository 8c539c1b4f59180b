/**
 * Files in and out: PyTorch-named weight files ({@link org.sprnn.io.ModelFiles}: safetensors or npz) to
 * {@link org.sprnn.model.RnnModel} and back, and numpy arrays ({@link org.sprnn.io.Npy},
 * {@link org.sprnn.io.Npz}) for inputs, initial states and outputs.
 *
 * <p>Every reader is hand-written and checks its input completely before trusting it; every problem is a
 * {@link org.sprnn.SprnnException} with one line naming the file (and tensor or entry) and what is wrong,
 * whatever the bytes: no other exception and no {@link Error} escapes, parsing is bounded in depth and
 * length, an archive entry is inflated only as far as its header says, and text of the file that a
 * message repeats goes through {@link org.sprnn.io.Untrusted} (escaped, one line, cut short).
 * Every writer goes through {@link org.sprnn.io.AtomicFiles}, so a failed or interrupted write leaves no
 * partial file, and files written together (a run's output and final states) appear all or not at all.
 * Values are float64 on the host; a file's element type is a {@link org.sprnn.Precision} (its safetensors and numpy
 * names and little-endian layout are kept here): reading fp16, bf16 and fp32 is exact; writing rounds once to
 * nearest-even.
 *
 * <p>Imports {@link org.sprnn.model} and Jackson (the safetensors header). Used by the CLI and the verification
 * harness; no engine imports it.
 */
package org.sprnn.io;
