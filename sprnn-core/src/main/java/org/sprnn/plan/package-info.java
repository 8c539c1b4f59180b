/**
 * Capacity planning for the sparse persistent kernel: whether a layer fits on-chip on a device and with which
 * partition ({@link org.sprnn.plan.Plan}, from {@link org.sprnn.plan.PlanOptions} and the run-time device
 * attributes in {@link org.sprnn.plan.DeviceLimits}), and the immutable record of everything that specialises one
 * compiled kernel ({@link org.sprnn.plan.KernelSpec}: its {@code -D} defines, its shared-memory layout, and the
 * kernel name that keys the cubin cache and labels benchmark rows). The kernels folder's README lists every
 * define and the {@code KernelSpec} component that sets it.
 *
 * <p>Imports {@link org.sprnn.model} and {@link org.sprnn.sparse}; no native code. Imported by
 * {@code engine.cuda}, the verification harness and the CLI ({@code plan}, {@code bench ablation}).
 */
package org.sprnn.plan;
