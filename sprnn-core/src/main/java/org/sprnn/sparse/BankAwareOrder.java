package org.sprnn.sparse;

import java.util.Arrays;

/**
 * The paper's Algorithm 1 ("optimize a row of nonzero weights to minimize bank conflicts"), as sprnn does it.
 *
 * <p>A row with {@code k} nonzeros occupies {@code K = max(1, ceil(k/32))} slot columns of its warp; cell
 * {@code q} of the row is lane {@code q % 32} of slot column {@code q / 32}, and each slot column is one
 * warp-wide load of activations. The load splits into lane groups ({@link SharedMemoryBanks}); a group is
 * conflict-free when its distinct columns fall into distinct bank slots. Lower bound of the row's total
 * wavefronts: {@code max(G, max_s n_s)}, {@code G} the number of lane groups in the row and {@code n_s} the
 * number of its columns in bank slot {@code s}, raised where lane capacity forces more ({@link #lowerBound}).
 *
 * <p>Algorithm: fix a total cost {@code C}, starting at the bound, spread as evenly as possible over the
 * {@code G} lane groups ({@code c_j} wavefronts for group {@code j}); deal each bank slot's columns, largest
 * demand first, at most {@code c_j} per group and {@code g} in all: a maximum flow (slots -> groups) decides
 * the counts exactly; if it cannot place every column, raise {@code C} by one and deal again. Padding cells read
 * one of {@link SharedMemoryBanks#ZERO_COLUMNS} all-zero activation columns above {@code H}, picked in a
 * bank slot the group leaves free, so padding never costs a wavefront and never changes a sum (0 * 0). If
 * the dealt order is not cheaper than the natural one (column order across lanes), the natural one is
 * kept: the result is never worse.
 */
public final class BankAwareOrder {
    private BankAwareOrder() {
    }

    /** Slot columns a row of {@code k} nonzeros occupies. */
    public static int slotColumns(int k) {
        return Math.max(1, (k + 31) / 32);
    }

    /**
     * The natural order: nonzero {@code i} in cell {@code i}, padding reads zero column {@code H} (offset 0).
     *
     * @return per cell, the nonzero's index in the row ({@code >= 0}) or {@code -1 - z} for padding that
     *     reads zero column {@code H + z}
     */
    public static int[] natural(int k) {
        int[] cells = new int[slotColumns(k) * 32];
        for (int q = 0; q < cells.length; q++) {
            cells[q] = q < k ? q : -1;
        }
        return cells;
    }

    /** The bank-aware order of a row's {@code columns} (same encoding as {@link #natural}); never worse than it. */
    public static int[] order(int[] columns, int hidden, SharedMemoryBanks banks) {
        int k = columns.length;
        int[] nat = natural(k);
        int[] dealt = deal(columns, hidden, banks);
        return totalWavefronts(dealt, columns, hidden, banks) <= totalWavefronts(nat, columns, hidden, banks) ? dealt : nat;
    }

    private static int[] deal(int[] columns, int hidden, SharedMemoryBanks banks) {
        int k = columns.length;
        int slotCols = slotColumns(k);
        int g = banks.groupLanes();
        int ns = banks.slots();
        int groups = slotCols * 32 / g;
        int[] slotOf = new int[k];
        int[] count = new int[ns];
        for (int i = 0; i < k; i++) {
            slotOf[i] = banks.slot(columns[i]);
            count[slotOf[i]]++;
        }
        int[][] items = new int[ns][];
        int[] fillOfSlot = new int[ns];
        for (int s = 0; s < ns; s++) {
            items[s] = new int[count[s]];
        }
        for (int i = 0; i < k; i++) {
            items[slotOf[i]][fillOfSlot[slotOf[i]]++] = i;
        }
        Integer[] order = new Integer[ns];
        for (int s = 0; s < ns; s++) {
            order[s] = s;
        }
        Arrays.sort(order, (a, b) -> count[b] != count[a] ? count[b] - count[a] : a - b);
        int target = lowerBound(columns, banks);
        int[][] perSlot = null;
        int[] cost = new int[groups];
        // Raise the total cost from the bound until the counts can be dealt: group j may hold cost[j] columns of
        // each slot and g columns in all (a maximum flow decides).
        for (int total = target; perSlot == null; total++) {
            for (int j = 0; j < groups; j++) {
                cost[j] = total / groups + (j < total % groups ? 1 : 0);
            }
            perSlot = fill(order, count, cost, groups, g, ns);
        }
        int[] used = new int[ns];
        int[][] members = new int[groups][g];
        int[] fill = new int[groups];
        for (int grp = 0; grp < groups; grp++) {
            for (int s = 0; s < ns; s++) {
                for (int c = 0; c < perSlot[grp][s]; c++) {
                    members[grp][fill[grp]++] = items[s][used[s]++];
                }
            }
        }
        int[] zeroForSlot = new int[ns];
        Arrays.fill(zeroForSlot, -1);
        for (int z = SharedMemoryBanks.ZERO_COLUMNS - 1; z >= 0; z--) {
            zeroForSlot[banks.slot(hidden + z)] = z;
        }
        int[] cells = new int[slotCols * 32];
        int groupsPerLoad = 32 / g;
        for (int grp = 0; grp < groups; grp++) {
            int j = grp / groupsPerLoad;
            int laneBase = (grp % groupsPerLoad) * g;
            int pad = 0;
            for (int s = 0; s < ns; s++) {
                if (perSlot[grp][s] == 0 && zeroForSlot[s] >= 0) {
                    pad = zeroForSlot[s];
                    break;
                }
            }
            for (int i = 0; i < g; i++) {
                cells[j * 32 + laneBase + i] = i < fill[grp] ? members[grp][i] : -1 - pad;
            }
        }
        return cells;
    }

    /**
     * Counts per (group, slot) within the given per-group costs and capacity g, or null if none exist: a
     * maximum flow source -> slot (n_s) -> group (cost[j]) -> sink (g), by augmenting paths (Dinic).
     */
    private static int[][] fill(Integer[] order, int[] count, int[] cost, int groups, int g, int ns) {
        int nodes = 2 + ns + groups;
        int src = 0;
        int sink = 1;
        int edges = 2 * (ns + ns * groups + groups);
        int[] to = new int[edges];
        int[] cap = new int[edges];
        int[] next = new int[edges];
        int[] head = new int[nodes];
        Arrays.fill(head, -1);
        int[] e = {0};
        int need = 0;
        for (int s = 0; s < ns; s++) {
            need += count[s];
            e[0] = addEdge(to, cap, next, head, e[0], src, 2 + s, count[s]);
        }
        int slotGroupBase = e[0];
        for (int s = 0; s < ns; s++) {
            for (int j = 0; j < groups; j++) {
                e[0] = addEdge(to, cap, next, head, e[0], 2 + s, 2 + ns + j, count[s] == 0 ? 0 : cost[j]);
            }
        }
        for (int j = 0; j < groups; j++) {
            e[0] = addEdge(to, cap, next, head, e[0], 2 + ns + j, sink, g);
        }
        int flow = 0;
        int[] level = new int[nodes];
        int[] it = new int[nodes];
        int[] queue = new int[nodes];
        while (true) {
            Arrays.fill(level, -1);
            level[src] = 0;
            int qh = 0;
            int qt = 0;
            queue[qt++] = src;
            while (qh < qt) {
                int v = queue[qh++];
                for (int x = head[v]; x >= 0; x = next[x]) {
                    if (cap[x] > 0 && level[to[x]] < 0) {
                        level[to[x]] = level[v] + 1;
                        queue[qt++] = to[x];
                    }
                }
            }
            if (level[sink] < 0) {
                break;
            }
            System.arraycopy(head, 0, it, 0, nodes);
            int f;
            while ((f = augment(src, sink, Integer.MAX_VALUE, to, cap, next, it, level)) > 0) {
                flow += f;
            }
        }
        if (flow < need) {
            return null;
        }
        int[][] perSlot = new int[groups][ns];
        int x = slotGroupBase;
        for (int s = 0; s < ns; s++) {
            for (int j = 0; j < groups; j++) {
                int used = cap[x + 1]; // reverse edge's capacity = flow on the edge
                perSlot[j][s] = used;
                x += 2;
            }
        }
        return perSlot;
    }

    private static int addEdge(int[] to, int[] cap, int[] next, int[] head, int e, int a, int b, int c) {
        to[e] = b;
        cap[e] = c;
        next[e] = head[a];
        head[a] = e;
        to[e + 1] = a;
        cap[e + 1] = 0;
        next[e + 1] = head[b];
        head[b] = e + 1;
        return e + 2;
    }

    private static int augment(int v, int sink, int f, int[] to, int[] cap, int[] next, int[] it, int[] level) {
        if (v == sink) {
            return f;
        }
        for (; it[v] >= 0; it[v] = next[it[v]]) {
            int x = it[v];
            if (cap[x] > 0 && level[to[x]] == level[v] + 1) {
                int d = augment(to[x], sink, Math.min(f, cap[x]), to, cap, next, it, level);
                if (d > 0) {
                    cap[x] -= d;
                    cap[x ^ 1] += d;
                    return d;
                }
            }
        }
        return 0;
    }

    /** The column each cell reads: the nonzero's column or the padding's zero column {@code H + z}. */
    public static int cellColumn(int cell, int[] columns, int hidden) {
        return cell >= 0 ? columns[cell] : hidden + (-1 - cell);
    }

    /** Wavefronts of each of the row's loads (slot columns) in the given cell order. */
    public static int[] wavefronts(int[] cells, int[] columns, int hidden, SharedMemoryBanks banks) {
        int loads = cells.length / 32;
        int[] out = new int[loads];
        int[] lane = new int[32];
        for (int j = 0; j < loads; j++) {
            for (int l = 0; l < 32; l++) {
                lane[l] = cellColumn(cells[j * 32 + l], columns, hidden);
            }
            out[j] = banks.wavefronts(lane);
        }
        return out;
    }

    /** Total wavefronts of the row's loads in the given cell order. */
    public static int totalWavefronts(int[] cells, int[] columns, int hidden, SharedMemoryBanks banks) {
        int t = 0;
        for (int w : wavefronts(cells, columns, hidden, banks)) {
            t += w;
        }
        return t;
    }

    /**
     * The row's lower bound on total wavefronts: the least {@code C >= max(G, max_s n_s)} for which {@code C}
     * spread evenly over the {@code G} groups leaves lanes for all {@code k} columns, where a group of cost
     * {@code c} can hold at most {@code sum_s min(c, n_s)} of them (and {@code g}). Even spreading maximises
     * that capacity (it is concave in {@code c}), so no order does better.
     */
    public static int lowerBound(int[] columns, SharedMemoryBanks banks) {
        int g = banks.groupLanes();
        int groups = slotColumns(columns.length) * 32 / g;
        int[] n = new int[banks.slots()];
        int worst = 0;
        for (int c : columns) {
            worst = Math.max(worst, ++n[banks.slot(c)]);
        }
        for (int total = Math.max(groups, worst); ; total++) {
            long room = 0;
            for (int j = 0; j < groups; j++) {
                int c = total / groups + (j < total % groups ? 1 : 0);
                long f = 0;
                for (int x : n) {
                    f += Math.min(c, x);
                }
                room += Math.min(f, g);
            }
            if (room >= columns.length) {
                return total;
            }
        }
    }
}
