/**
 * The README's figure: {@link org.sprnn.plot.BenchChart} turns the CSV rows {@code sprnn bench} writes into one PNG
 * bar chart. Depends on JFreeChart only, not on sprnn-core: it reads the CSV, nothing else.
 */
package org.sprnn.plot;
