/**
 * Charts of the benchmark rows: {@link org.sprnn.plot.BenchChart} turns the CSV rows {@code sprnn bench} writes into one
 * PNG or SVG bar chart; {@link org.sprnn.plot.FigureChart} draws the evaluation's figures (lines against a column with
 * capacity marks, speed-ups, per-sequence bars, the ablation) from {@link org.sprnn.plot.Rows}. Depends on JFreeChart
 * only, not on sprnn-core: it reads the CSV, nothing else.
 */
package org.sprnn.plot;
