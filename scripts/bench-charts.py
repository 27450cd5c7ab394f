#!/usr/bin/env python3
"""Draws the bench-guard charts that docs/benchmarks.md shows, from the records that
benchmarks/guard/bench_guard.py appends to benchmarks/guard/results.jsonl:

  docs/benchmarks/latest.png    each check's ratio in the latest run beside its limit
  docs/benchmarks/history.png   each check's ratio over the recorded runs (by commit)

    /usr/bin/python3 scripts/bench-charts.py [--results FILE] [--out docs/benchmarks]
"""

import argparse
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def read(path):
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def measured(record):
    return {name: check for name, check in record["checks"].items() if "value" in check}


def latest_chart(record, out):
    checks = measured(record)
    names = list(checks)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.1 * len(names) + 1), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        check = checks[name]
        value, limit, op = check["value"], check["limit"], check["op"]
        ok = value <= limit if op == "<=" else value >= limit
        color = "#2e7d32" if ok else ("#c62828" if check.get("enforced", True) else "#ef6c00")
        ax.barh([0], [value], color=color, height=0.6)
        ax.axvline(limit, color="black", linestyle="--", linewidth=1)
        ax.set_yticks([])
        ax.set_xlim(0, max(value, limit) * 1.25)
        status = "" if check.get("enforced", True) else " - not enforced yet"
        ax.set_title(f"{name}: {value:.2f} ({op} {limit}){status}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"bench-guard, commit {record['commit']}, {record['date']} "
                 f"({record['machine']['cpu']}, {record['machine']['cores']} cores); dashed: limit",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def history_chart(records, out):
    names = []
    for record in records:
        for name in measured(record):
            if name not in names:
                names.append(name)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.4 * len(names) + 1), squeeze=False,
                             sharex=True)
    x = list(range(len(records)))
    for ax, name in zip(axes[:, 0], names):
        values = [measured(r).get(name, {}).get("value") for r in records]
        points = [(i, v) for i, v in zip(x, values) if v is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3)
        limits = [measured(r)[name]["limit"] for r in records if name in measured(r)]
        if limits:
            ax.axhline(limits[-1], color="black", linestyle="--", linewidth=1)
        ax.set_title(name, fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[-1, 0].set_xticks(x)
    axes[-1, 0].set_xticklabels([r["commit"] for r in records], rotation=60, fontsize=7)
    fig.suptitle("bench-guard ratios by run (dashed: limit)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "guard" / "results.jsonl"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    args = parser.parse_args()
    results = pathlib.Path(args.results)
    if not results.exists():
        sys.exit(f"{results}: no records yet (run make bench-guard)")
    records = read(results)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    latest_chart(records[-1], out / "latest.png")
    history_chart(records, out / "history.png")
    print(f"bench-charts: {len(records)} runs -> {out}/latest.png, {out}/history.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
