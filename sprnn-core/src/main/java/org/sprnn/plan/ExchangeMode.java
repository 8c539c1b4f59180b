package org.sprnn.plan;

/** How the CTAs of the persistent kernel hand each step's {@code h_t} to each other. */
public enum ExchangeMode {
    /** {@code h_t} in global memory (fp16), then a grid-wide counter barrier; every CTA re-reads all of it. */
    GRID_BARRIER("barrier"),
    /**
     * Each pair of batch values travels with its step tag in one 64-bit store (a slot per step, never reused
     * within a launch); consumers poll only the columns they need and stage each as its tag arrives.
     */
    TIMESTAMPS("timestamps"),
    /**
     * One thread-block cluster (Hopper, at most 16 CTAs): each CTA writes its {@code h_t} straight into every
     * CTA's shared memory (distributed shared memory), then one cluster barrier (about 0.5 us).
     */
    CLUSTER("cluster");

    private final String id;

    ExchangeMode(String id) {
        this.id = id;
    }

    /** Short name used in kernel names, options and reports. */
    public String id() {
        return id;
    }

    /** The {@code SPRNN_EXCHANGE} define the kernel is compiled with. */
    public int define() {
        return ordinal();
    }
}
