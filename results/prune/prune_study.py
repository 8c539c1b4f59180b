#!/usr/bin/python3
"""Accuracy cost of sprnn's pruning modes on a small character-level LSTM (issue 16).

Trains an LSTM language model (embedding 32, hidden 128, one layer) on a text that ships with Debian, then
prunes its W_hh [512][128] to each density with each mode of `sprnn prune` -- the pruning is done by the
sprnn CLI itself on an .npz export, so the masks are exactly the Java rules -- and reports the validation
loss (nats/char) right after pruning and after a short masked fine-tune (pruned weights held at zero).
The base model is trained once per seed; every cell of that seed starts from it.

Two steps, run from the repository root (CPU):
    /usr/bin/python3 results/prune/prune_study.py run --seeds 0,1,2     # appends each run's rows to the CSV
    /usr/bin/python3 results/prune/prune_study.py report                 # table (markdown) and figure from the CSV
"""
import argparse
import math
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MODES = ["per-matrix", "per-row", "balanced", "bank-balanced"]
COLUMNS = ["seed", "density", "mode", "kept", "val_loss_pruned", "val_loss_finetuned", "same_mask_as",
           "train_steps", "tune_steps", "hidden", "commit", "seconds"]

p = argparse.ArgumentParser()
p.add_argument("step", choices=["run", "report"])
p.add_argument("--text", default="/usr/share/common-licenses",
               help="a text file, or a folder whose regular files (not links) are joined in name order")
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--train-steps", type=int, default=700)
p.add_argument("--tune-steps", type=int, default=60)
p.add_argument("--densities", default="0.5,0.3,0.2,0.1,0.05")
p.add_argument("--modes", default=",".join(MODES))
p.add_argument("--seeds", default="0,1,2")
p.add_argument("--sprnn", default="./sprnn")
p.add_argument("--csv", default="results/prune/char-lstm.csv", help="rows are appended (header written if new)")
p.add_argument("--figure", default="results/prune/char-lstm", help="report: writes this .svg and .png")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()


def run():
    import torch
    import torch.nn as nn
    torch.set_num_threads(a.threads)

    if os.path.isdir(a.text):
        files = sorted(f for f in os.listdir(a.text)
                       if os.path.isfile(os.path.join(a.text, f)) and not os.path.islink(os.path.join(a.text, f)))
        text = "".join(open(os.path.join(a.text, f), encoding="utf-8").read() for f in files)
        print(f"text: {a.text} ({', '.join(files)}, joined in that order), {len(text)} chars", flush=True)
    else:
        text = open(a.text, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    V, SEQ, BATCH = len(chars), 64, 32
    print(f"vocabulary {V}, train {len(train)} chars, validation {len(val)} chars", flush=True)

    class CharLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, 32)
            self.rnn = nn.LSTM(32, a.hidden)
            self.out = nn.Linear(a.hidden, V)

        def forward(self, x):  # x [T][B]
            h, _ = self.rnn(self.emb(x))
            return self.out(h)

    def val_loss(m):
        m.eval()
        T = 128
        n = (len(val) - 1) // T
        x = val[:n * T].view(n, T).t()
        y = val[1:n * T + 1].view(n, T).t()
        with torch.no_grad():
            loss = nn.functional.cross_entropy(m(x).reshape(-1, V), y.reshape(-1)).item()
        m.train()
        return loss

    def fit(m, steps, lr, rng, mask=None):
        opt = torch.optim.Adam(m.parameters(), lr=lr)
        for _ in range(steps):
            starts = rng.integers(0, len(train) - SEQ - 1, BATCH)
            x = torch.stack([train[s:s + SEQ] for s in starts], 1)
            y = torch.stack([train[s + 1:s + SEQ + 1] for s in starts], 1)
            loss = nn.functional.cross_entropy(m(x).reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            if mask is not None:
                with torch.no_grad():
                    m.rnn.weight_hh_l0.mul_(mask)

    def sprnn_prune(src, density, mode, tmp):
        """W_hh of the npz at src pruned by `sprnn prune --mode mode`."""
        dst = os.path.join(tmp, f"pruned-{mode}-{density}.npz")
        subprocess.run([a.sprnn, "prune", "--model", src, "--cell", "lstm", "--density", str(density), "--mode",
                        mode, "--dtype", "f32", "--output", dst], check=True, stdout=subprocess.DEVNULL)
        return torch.from_numpy(np.load(dst)["weight_hh_l0"])

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "sprnn-core", "sprnn-cli"]).returncode != 0
    commit += "-dirty" if dirty else ""
    densities = [float(s) for s in a.densities.split(",")]
    modes = a.modes.split(",")
    new = not os.path.exists(a.csv)
    out = open(a.csv, "a")
    if new:
        out.write(",".join(COLUMNS) + "\n")

    def emit(seed, d, mode, kept, pruned, tuned, same, t):
        out.write(f"{seed},{d},{mode},{kept:.6f},{pruned:.6f},{tuned:.6f},{same},{a.train_steps},{a.tune_steps},"
                  f"{a.hidden},{commit},{t:.1f}\n")
        out.flush()

    for seed in [int(s) for s in a.seeds.split(",")]:
        t0 = time.time()
        torch.manual_seed(seed)
        model = CharLstm()
        fit(model, a.train_steps, 3e-3, np.random.default_rng(seed))
        dense_loss = val_loss(model)
        print(f"seed {seed}: dense val loss {dense_loss:.4f} after {a.train_steps} steps "
              f"({time.time() - t0:.0f} s)", flush=True)
        dense_state = {k: v.clone() for k, v in model.state_dict().items()}
        # Every fine-tune of this seed sees the same batches (common random numbers), so the differences
        # between cells are the masks', not the batches'; the dense model gets the same steps as a control.
        tune_seed = [seed, 1]
        t1 = time.time()
        fit(model, a.tune_steps, 1e-3, np.random.default_rng(tune_seed))
        emit(seed, 1.0, "dense", 1.0, dense_loss, val_loss(model), "", time.time() - t0)

        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "lstm.npz")
            np.savez(src, **{k[4:]: v.detach().numpy().astype(np.float32)
                             for k, v in dense_state.items() if k.startswith("rnn.")})
            cells = [(d, mode) for d in densities for mode in modes]
            t2 = time.time()
            with ThreadPoolExecutor(a.threads) as pool:  # JVM starts, two at a time
                pruned_w = dict(zip(cells, pool.map(lambda c: sprnn_prune(src, c[0], c[1], tmp), cells)))
            print(f"seed {seed}: {len(cells)} sprnn prune runs in {time.time() - t2:.0f} s", flush=True)
            done = {}  # (mode, mask bytes) -> (density, pruned, tuned)
            w_dense = dense_state["rnn.weight_hh_l0"]
            for d, mode in cells:
                t3 = time.time()
                w = pruned_w[(d, mode)]
                assert torch.equal(w[w != 0], w_dense[w != 0]), "kept weights must be unchanged"
                mask = (w != 0).float()
                kept = mask.sum().item() / mask.numel()
                key = (mode, mask.numpy().tobytes())
                if key in done:  # the same mask as a density already run (bank-balanced's floor): not rerun
                    d0, pruned, tuned = done[key]
                    emit(seed, d, mode, kept, pruned, tuned, d0, 0.0)
                    print(f"seed {seed} d {d} {mode}: same mask as d {d0}", flush=True)
                    continue
                model.load_state_dict(dense_state)
                with torch.no_grad():
                    model.rnn.weight_hh_l0.copy_(w)
                pruned = val_loss(model)
                fit(model, a.tune_steps, 1e-3, np.random.default_rng(tune_seed), mask)
                tuned = val_loss(model)
                done[key] = (d, pruned, tuned)
                emit(seed, d, mode, kept, pruned, tuned, "", time.time() - t3)
                print(f"seed {seed} d {d} {mode}: kept {kept:.4f}, val loss {pruned:.4f} pruned, {tuned:.4f} "
                      f"fine-tuned ({time.time() - t3:.0f} s)", flush=True)
        print(f"seed {seed}: {time.time() - t0:.0f} s in all ({t1 - t0:.0f} s training)", flush=True)
    out.close()


def load():
    import csv
    with open(a.csv) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ["density", "kept", "val_loss_pruned", "val_loss_finetuned"]:
            r[k] = float(r[k])
    return rows


def cells(rows):
    """(density, mode) -> {kept, pruned: [..], tuned: [..], seeds, same} in density-descending, mode order."""
    order = ["dense"] + MODES
    out = {}
    for r in sorted(rows, key=lambda r: (-r["density"], order.index(r["mode"]), int(r["seed"]))):
        c = out.setdefault((r["density"], r["mode"]), {"kept": [], "pruned": [], "tuned": [], "seeds": [],
                                                       "same": set()})
        c["kept"].append(r["kept"])
        c["pruned"].append(r["val_loss_pruned"])
        c["tuned"].append(r["val_loss_finetuned"])
        c["seeds"].append(int(r["seed"]))
        if r["same_mask_as"]:
            c["same"].add(r["same_mask_as"])
    return out


def stat(v):
    return f"{np.mean(v):.3f} ({min(v):.3f}–{max(v):.3f})"


def report():
    rows = load()
    cs = cells(rows)
    lines = ["| density | mode | kept | val loss pruned, mean (min–max) | val loss fine-tuned, mean (min–max) | seeds |",
             "|---|---|---|---|---|---|"]
    for (d, mode), c in cs.items():
        note = f" (= {', '.join(sorted(c['same']))})" if c["same"] else ""
        lines.append(f"| {d:g} | {mode}{note} | {np.mean(c['kept']):.4f} | {stat(c['pruned'])} | {stat(c['tuned'])} | "
                     f"{len(c['seeds'])} |")
    print("\n".join(lines))
    print()
    print(paired(rows))
    figure(cs)


def paired(rows):
    """A mode's loss minus a reference's at the same seed (same base model): mean (min-max) over the seeds."""
    by = {(r["seed"], r["density"], r["mode"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows}, key=int)
    lines = ["| density | mode − reference | kept | Δ pruned, mean (min–max) | Δ fine-tuned, mean (min–max) |",
             "|---|---|---|---|---|"]
    # against per-matrix at the same density; balanced also against per-row, and bank-balanced's floor
    # (kept 0.25) against per-row at 0.2, which keeps less
    pairs = [(d, mode, d, "per-matrix") for d in sorted({r["density"] for r in rows if r["mode"] != "dense"},
                                                        reverse=True) for mode in MODES[1:]]
    pairs += [(d, "balanced", d, "per-row") for d, _, _, _ in pairs[::3]] + [(0.3, "bank-balanced", 0.2, "per-row")]
    for d, mode, d0, ref in pairs:
        rs = [by[(s, d, mode)] for s in seeds if (s, d, mode) in by and (s, d0, ref) in by]
        if not rs or rs[0]["same_mask_as"]:
            continue
        base = [by[(r["seed"], d0, ref)] for r in rs]
        dp = [r["val_loss_pruned"] - b["val_loss_pruned"] for r, b in zip(rs, base)]
        dt = [r["val_loss_finetuned"] - b["val_loss_finetuned"] for r, b in zip(rs, base)]
        f = lambda v: f"{np.mean(v):+.3f} ({min(v):+.3f} to {max(v):+.3f})"
        kept = f"{np.mean([r['kept'] for r in rs]):.4f} − {np.mean([b['kept'] for b in base]):.4f}"
        lines.append(f"| {d:g}{'' if d0 == d else f' − {d0:g}'} | {mode} − {ref} | {kept} | {f(dp)} | {f(dt)} |")
    return "\n".join(lines)


# ---- the figure: a hand-written SVG and the same drawing through PIL for the PNG ----

COLORS = {"per-matrix": "#1f77b4", "per-row": "#d62728", "balanced": "#2ca02c", "bank-balanced": "#9467bd"}
DODGE = {"per-matrix": -1.5, "per-row": -0.5, "balanced": 0.5, "bank-balanced": 1.5}  # % of x, apart for the bars


class Svg:
    def __init__(self, w, h):
        self.w, self.h, self.items = w, h, []

    def line(self, x1, y1, x2, y2, color, width=1.0, dash=False):
        d = ' stroke-dasharray="5,4"' if dash else ""
        self.items.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
                          f'stroke-width="{width}"{d}/>')

    def circle(self, x, y, r, color):
        self.items.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>')

    def text(self, x, y, s, size=12, anchor="middle", rotate=False, bold=False):
        t = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        b = ' font-weight="bold"' if bold else ""
        s = s.replace("&", "&amp;").replace("<", "&lt;")
        self.items.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{b}{t}>{s}</text>')

    def write(self, path):
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                    f'viewBox="0 0 {self.w} {self.h}" font-family="DejaVu Sans, sans-serif">\n'
                    f'<rect width="{self.w}" height="{self.h}" fill="white"/>\n' + "\n".join(self.items) + "\n</svg>\n")


class Png:
    """The same calls drawn at 2x by PIL (DejaVu Sans, as the SVG asks for)."""

    def __init__(self, w, h, scale=2):
        from PIL import Image, ImageDraw
        self.s, self.img = scale, Image.new("RGB", (w * scale, h * scale), "white")
        self.d = ImageDraw.Draw(self.img)

    def font(self, size, bold=False):
        from PIL import ImageFont
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        for folder in ["/usr/share/fonts/truetype/dejavu"]:
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return ImageFont.truetype(path, int(size * self.s))
        return ImageFont.load_default()

    def line(self, x1, y1, x2, y2, color, width=1.0, dash=False):
        s, w = self.s, max(1, round(width * self.s))
        if not dash:
            self.d.line([(x1 * s, y1 * s), (x2 * s, y2 * s)], fill=color, width=w)
            return
        n = max(1, int(math.hypot(x2 - x1, y2 - y1) / 9))
        for i in range(n):
            f0, f1 = i / n, (i + 5 / 9) / n
            self.d.line([((x1 + (x2 - x1) * f0) * s, (y1 + (y2 - y1) * f0) * s),
                         ((x1 + (x2 - x1) * f1) * s, (y1 + (y2 - y1) * f1) * s)], fill=color, width=w)

    def circle(self, x, y, r, color):
        s = self.s
        self.d.ellipse([(x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s], fill=color)

    def text(self, x, y, s, size=12, anchor="middle", rotate=False, bold=False):
        from PIL import Image, ImageDraw
        f = self.font(size, bold)
        box = self.d.textbbox((0, 0), s, font=f)
        w, h = box[2] - box[0], box[3]
        if rotate:
            im = Image.new("RGBA", (w + 2, h + 2), (255, 255, 255, 0))
            ImageDraw.Draw(im).text((0, 0), s, font=f, fill="black")
            im = im.rotate(90, expand=True)
            self.img.paste(im, (int(x * self.s - h), int(y * self.s - w / 2)), im)
            return
        self.d.text((x * self.s, y * self.s), s, font=f, fill="black",
                    anchor={"middle": "ms", "start": "ls", "end": "rs"}[anchor])  # on the baseline, as SVG

    def write(self, path):
        self.img.save(path)


def figure(cs):
    W, H = 980, 470
    panels = [("pruned", "right after pruning"), ("tuned", "after the masked fine-tune")]
    ys = [v for (d, m), c in cs.items() for k in ("pruned", "tuned") for v in c[k]]
    lo, hi = math.floor(min(ys) * 10) / 10, math.ceil(max(ys) * 10) / 10
    xlo, xhi = math.log10(0.04), math.log10(1.0)
    rows = [r for r in load() if r["mode"] != "dense"]
    steps = {(r["train_steps"], r["tune_steps"], r["hidden"]) for r in rows}
    seeds = sorted({r["seed"] for r in rows}, key=int)
    for canvas, path in ((Svg(W, H), a.figure + ".svg"), (Png(W, H), a.figure + ".png")):
        for i, (key, name) in enumerate(panels):
            L, T, R, B = 70 + i * 460, 50, 70 + i * 460 + 380, 370
            X = lambda v: L + (math.log10(v) - xlo) / (xhi - xlo) * (R - L)
            Y = lambda v: B - (v - lo) / (hi - lo) * (B - T)
            canvas.text((L + R) / 2, T - 12, f"val loss {name}", 14, bold=True)
            for t in np.arange(lo, hi + 1e-9, 0.1):
                canvas.line(L, Y(t), R, Y(t), "#e6e6e6")
                canvas.text(L - 6, Y(t) + 4, f"{t:.1f}", 11, anchor="end")
            for t in [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]:
                canvas.line(X(t), T, X(t), B, "#e6e6e6")
                canvas.text(X(t), B + 16, f"{t:g}", 11)
            canvas.line(L, B, R, B, "black")
            canvas.line(L, T, L, B, "black")
            canvas.text((L + R) / 2, B + 34, "W_hh density kept (log scale)", 12)
            canvas.text(L - 44, (T + B) / 2, "validation loss, nats/char", 12, rotate=True)
            dense = cs.get((1.0, "dense"))
            if dense:
                v = np.mean(dense[key])
                canvas.line(L, Y(v), R, Y(v), "black", 1.2, dash=True)
                canvas.text(L + 6, Y(v) + 15, f"dense{' + the same steps' if key == 'tuned' else ''}, mean {v:.3f}",
                            10, anchor="start")
            for mode in MODES:
                # one point per distinct mask: bank-balanced's cells at its floor are the same model
                pts = sorted(((np.mean(c["kept"]), c[key]) for (d, m), c in cs.items() if m == mode and not c["same"]),
                             key=lambda q: q[0])
                xy = [(X(k * (1 + DODGE[mode] / 100)), v) for k, v in pts]
                col = COLORS[mode]
                for (x1, v1), (x2, v2) in zip(xy, xy[1:]):
                    canvas.line(x1, Y(np.mean(v1)), x2, Y(np.mean(v2)), col, 1.8)
                for x, v in xy:
                    canvas.line(x, Y(min(v)), x, Y(max(v)), col, 1.2)
                    canvas.line(x - 3, Y(min(v)), x + 3, Y(min(v)), col, 1.2)
                    canvas.line(x - 3, Y(max(v)), x + 3, Y(max(v)), col, 1.2)
                    canvas.circle(x, Y(np.mean(v)), 3.2, col)
                floor = [(x, v) for (x, v), (k, _) in zip(xy, pts) if mode == "bank-balanced" and k < 0.5]
                for x, v in floor:  # every density below 0.5 gave this one mask (a bank of 4 columns keeps >= 1)
                    canvas.text(x, Y(max(v)) - 8, "floor 1/4", 10)
        lx = 70
        for mode in MODES:
            canvas.line(lx, 428, lx + 22, 428, COLORS[mode], 2.5)
            canvas.text(lx + 28, 432, mode, 12, anchor="start")
            lx += 150
        st = ", ".join(f"H {h}, {tr} train + {tu} fine-tune steps" for tr, tu, h in sorted(steps))
        canvas.text(W - 10, 458, f"char LSTM on common-licenses, {st}; mean of seeds {','.join(seeds)}, bars min–max",
                    10, anchor="end")
        canvas.write(path)
    print(f"wrote {a.figure}.svg and {a.figure}.png")


run() if a.step == "run" else report()
