/**
 * The {@code sprnn} command line (picocli): one class per command, {@link org.sprnn.cli.Main} the entry point.
 * Every command validates its options before any work and turns every failure into one line and an exit code.
 *
 * <p>Sits on top of sprnn-core and imports its public packages (model, io, prune, sparse, plan, engine and the
 * engines, the verification harness); sprnn-core never imports it.
 */
package org.sprnn.cli;
