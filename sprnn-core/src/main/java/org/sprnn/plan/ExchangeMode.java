package org.sprnn.plan;

/** How the CTAs of the persistent kernel hand each step's {@code h_t} to each other. */
public enum ExchangeMode {
    /** {@code h_t} in global memory (fp16), then a grid-wide counter barrier; every CTA re-reads all of it. */
    GRID_BARRIER("barrier", 0),
    /**
     * Each unit's batch values travel in words written whole by one store (at batch 3-4 one 64-bit word of four
     * fp16), in a slot per step that is never reused within a launch and is emptied (all ones) before it, so a
     * word's first value is its step tag: consumers poll only the columns they need and stage each word as it
     * arrives.
     */
    TIMESTAMPS("timestamps", 1),
    /**
     * One thread-block cluster (Hopper, at most 16 CTAs): each CTA writes its {@code h_t} straight into every
     * CTA's shared memory (distributed shared memory) with asynchronous stores that complete on the receiver's
     * mbarrier.
     */
    CLUSTER("cluster", 2);

    private final String id;
    private final int define;

    ExchangeMode(String id, int define) {
        this.id = id;
        this.define = define;
    }

    /** Short name used in kernel names, options and reports. */
    public String id() {
        return id;
    }

    /**
     * The {@code SPRNN_EXCHANGE} define the kernel is compiled with: the kernel's {@code #if SPRNN_EXCHANGE == 0/1/2}
     * branches, written here, not taken from the declaration order.
     *
     * @return 0 grid barrier, 1 timestamps, 2 cluster
     */
    public int define() {
        return define;
    }
}
