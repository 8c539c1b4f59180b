#!/usr/bin/env python3
"""figures_summary.py — the numbers behind issue 15's figures, as markdown tables, from the rows gpu-figures.sh wrote.

    python3 scripts/figures_summary.py results/figures/data > results/figures/SUMMARY.md

DATA is the folder with fig1a/ .. fig6b/ (sweep.csv each; fig5/ablation.csv). Standard library only. Every figure the
tables quote is a median of the sweep's replays (recurrent_us_per_step_median: the recurrent launch alone, CUDA events);
a speed-up is the fastest of the named engines' time divided by cuda-sparse-persistent's at the same configuration.
"""
import csv
import os
import sys

SPARSE = "cuda-sparse-persistent"
DENSE = ("cuda-gemm", "cuda-cudnn", "cuda-dense-persistent")  # the dense engines: figure 1's baseline
KEY = ("case", "cell", "layers", "hidden", "input", "batch", "density", "pruning", "steps")


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sweep(data, *names):
    out = []
    for n in names:
        out += rows(os.path.join(data, n, "sweep.csv"))
    return out


def by_config(rs):
    """{config tuple: {engine: µs/step}} for timed rows (a refused engine has an empty figure and is absent)."""
    out = {}
    for r in rs:
        v = r.get("recurrent_us_per_step_median", "")
        if not v:
            continue
        out.setdefault(tuple(r.get(k, "") for k in KEY), {})[r["engine"]] = float(v)
    return out


def refused(rs):
    """{config tuple: [engine, ...]} of engines that gave no figure (capacity and other refusals)."""
    out = {}
    for r in rs:
        if not r.get("recurrent_us_per_step_median", ""):
            out.setdefault(tuple(r.get(k, "") for k in KEY), []).append(r["engine"])
    return out


def fastest(t, engines):
    got = [(t[e], e) for e in engines if e in t]
    return min(got) if got else (None, None)


def pct(d):
    return "%g%%" % (100 * float(d))


def f2(x):
    return "-" if x is None else "%.2f" % x


def fig1(data):
    cfg = by_config(sweep(data, "fig1", "fig1a", "fig1b", "fig1c"))
    if not cfg:
        return
    print("## Figure 1: speed-up of cuda-sparse-persistent over the fastest dense engine (%s), batch 4, T 256\n" % ", ".join(DENSE))
    print("| hidden | density | sparse µs/step | fastest dense (µs/step) | speed-up | fastest other engine |")
    print("|---|---|---|---|---|---|")
    last_win = {}
    for k in sorted(cfg, key=lambda k: (int(k[3]), float(k[6]))):
        t = cfg[k]
        s = t.get(SPARSE)
        d, de = fastest(t, DENSE)
        o, oe = fastest(t, [e for e in t if e != SPARSE])
        up = d / s if s and d else None
        if up and up > 1:
            last_win[k[3]] = max(last_win.get(k[3], 0.0), float(k[6]))
        print("| %s | %s | %s | %s (%s) | %s | %s (%s) |" % (k[3], pct(k[6]), f2(s), f2(d), de, f2(up) + "x" if up else "-", f2(o), oe))
    print()
    for h in sorted(last_win, key=int):
        print("- hidden %s: sparse persistent faster than every dense engine up to density %s of those timed" % (h, pct(last_win[h])))
    print()


def fig2(data):
    rs = sweep(data, "fig2", "fig2big")
    cfg = by_config(rs)
    if not cfg:
        return
    ref = refused(rs)
    print("## Figure 2: µs per step vs hidden size, batch 4, T 256\n")
    print("| density | hidden | sparse µs/step | best other (µs/step) | speed-up | engines refused |")
    print("|---|---|---|---|---|---|")
    keys = set(cfg) | set(ref)
    for k in sorted(keys, key=lambda k: (float(k[6]), int(k[3]))):
        t = cfg.get(k, {})
        s = t.get(SPARSE)
        o, oe = fastest(t, [e for e in t if e != SPARSE])
        up = o / s if s and o else None
        print("| %s | %s | %s | %s (%s) | %s | %s |" % (pct(k[6]), k[3], f2(s), f2(o), oe, f2(up) + "x" if up else "-",
                                                    ", ".join(sorted(ref.get(k, []))) or ""))
    print()
    for d in sorted({k[6] for k in keys}, key=float):
        on = [int(k[3]) for k in cfg if k[6] == d and SPARSE in cfg[k]]
        off = [int(k[3]) for k in ref if k[6] == d and SPARSE in ref[k]]
        dp = [int(k[3]) for k in cfg if k[6] == d and "cuda-dense-persistent" in cfg[k]]
        if on:
            big = max(on)
            k = [k for k in cfg if k[6] == d and int(k[3]) == big][0]
            o, oe = fastest(cfg[k], [e for e in cfg[k] if e != SPARSE])
            print("- density %s: largest layer on-chip here hidden %d (%s µs/step, %sx the best other, %s)%s; "
                  "cuda-dense-persistent's largest timed: %s" % (
                      pct(d), big, f2(cfg[k][SPARSE]), f2(o / cfg[k][SPARSE]) if o else "-", oe,
                      ", refused at %s" % ", ".join(str(x) for x in sorted(off)) if off else "",
                      max(dp) if dp else "none"))
    print()


def simple(data, name, title, col):
    cfg = by_config(sweep(data, name))
    if not cfg:
        return
    idx = KEY.index(col)
    print("## %s\n" % title)
    print("| density | %s | sparse µs/step | µs/sequence | best other (µs/step) | speed-up |" % col)
    print("|---|---|---|---|---|---|")
    for k in sorted(cfg, key=lambda k: (float(k[6]), int(k[idx]))):
        t = cfg[k]
        s = t.get(SPARSE)
        o, oe = fastest(t, [e for e in t if e != SPARSE])
        print("| %s | %s | %s | %s | %s (%s) | %s |" % (pct(k[6]), k[idx], f2(s), f2(s * int(k[8])) if s else "-", f2(o), oe,
                                                   f2(o / s) + "x" if s and o else "-"))
    print()


def fig5(data):
    rs = rows(os.path.join(data, "fig5", "ablation.csv"))
    if not rs:
        return
    r0 = rs[0]
    print("## Figure 5: the ablation (the paper's Table 1), %s %s, batch %s, density %s, T %s\n" % (
        r0["cell"], r0["hidden"], r0["batch"], r0["density"], r0["steps"]))
    print("| variant | µs/step | rel. error |")
    print("|---|---|---|")
    for r in rs:
        err = r.get("rel_error", "")
        print("| %s | %s | %s |" % (r["variant"], f2(float(r["us_per_step"])), "%.1e" % float(err) if err else "(floor)"))
    print()


def fig6(data):
    for name, title in (("fig6a", "Figure 6a: NMT and Deep Speech 2 layers"), ("fig6b", "Figure 6b: DeepBench's inference set")):
        rs = sweep(data, name)
        cfg = by_config(rs)
        if not cfg:
            continue
        print("## %s: µs per layer-sequence (the stack's µs per step x T / layers)\n" % title)
        print("| case | cell | layers | hidden | batch | T | density | sparse µs/layer-seq | best other (µs/layer-seq) | speed-up |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        ups = []
        for k in sorted(cfg, key=lambda k: (float(k[6]), k[0])):
            t = cfg[k]
            per = int(k[8]) / int(k[2] or 1)
            s = t.get(SPARSE)
            o, oe = fastest(t, [e for e in t if e != SPARSE])
            up = o / s if s and o else None
            if up:
                ups.append((up, k[0], pct(k[6])))
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s |" % (
                k[0], k[1], k[2], k[3], k[5], k[8], pct(k[6]), f2(s * per) if s else "-", f2(o * per) if o else "-", oe,
                f2(up) + "x" if up else "-"))
        print()
        if ups:
            ups.sort()
            print("- speed-up over the best other engine: %s at %s (%s) to %s at %s (%s); faster at %d of %d cases\n" % (
                f2(ups[0][0]), ups[0][1], ups[0][2], f2(ups[-1][0]), ups[-1][1], ups[-1][2],
                sum(1 for u in ups if u[0] > 1), len(ups)))


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: figures_summary.py DATA_DIR (the folder with fig1a/ .. fig6b/)")
    data = sys.argv[1]
    dev = sorted({(r["device"], r["driver"], r["commit"], r["date"][:10]) for r in sweep(data, "fig1a", "fig2", "fig6a")})
    print("# The figures' numbers (generated by scripts/figures_summary.py; do not edit)\n")
    for d in dev:
        print("Rows from %s, CUDA driver API %s, sprnn commit %s, %s." % d)
    print()
    fig1(data)
    fig2(data)
    simple(data, "fig3", "Figure 3: batch 1 to 32 at hidden 2304, T 256", "batch")
    simple(data, "fig4", "Figure 4: T 16 to 2048 at hidden 2304, density 10%, batch 4", "steps")
    fig5(data)
    fig6(data)


if __name__ == "__main__":
    main()
