#!/usr/bin/env python3
"""Medians of BENCH lines, as a Markdown table.

Usage: bench/table.py [FILE ...]   (standard input when no file is given)

One row per benchmark, in the order first seen; for each implementation the
median rate and the median peak RSS in MiB (with the median bytes per actor
where the line reports bytes_per_actor). When troupe and at least one other
implementation are present, the last two columns name the fastest other one
and troupe's median rate over its median. Lines whose check is not ok are
reported on stderr and left out; the exit status is then 1.
"""
import fileinput
import statistics
import sys


def fields(line):
    return dict(word.split("=", 1) for word in line.split()[1:] if "=" in word)


def median(values):
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def main():
    runs = {}  # name -> impl -> [fields]
    failed = 0
    for line in fileinput.input():
        if not line.startswith("BENCH "):
            continue
        f = fields(line)
        if f.get("check") != "ok":
            print("not counted (check failed):", line.strip(), file=sys.stderr)
            failed += 1
            continue
        runs.setdefault(f["name"], {}).setdefault(f["impl"], []).append(f)

    impls = sorted({i for by in runs.values() for i in by}, key=lambda i: (i != "troupe", i))
    compare = "troupe" in impls and len(impls) > 1
    head = ["benchmark"]
    for i in impls:
        head += [f"{i} rate", f"{i} peak RSS MiB"]
    if compare:
        head += ["fastest other", "troupe / fastest other"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))

    for name, by in runs.items():
        row, rate = [name], {}
        for i in impls:
            lines = by.get(i)
            if not lines:
                row += ["-", "-"]
                continue
            rate[i] = median([int(f["rate"]) for f in lines])
            rss = median([int(f["rss_kb"]) / 1024 for f in lines if f.get("rss_kb", "-") != "-"])
            per_actor = median([int(f["bytes_per_actor"]) for f in lines if "bytes_per_actor" in f])
            cell = "-" if rss is None else f"{rss:,.0f}"
            if per_actor is not None:
                cell += f" ({per_actor:,.0f} B/actor)"
            row += [f"{rate[i]:,.0f}", cell]
        if compare:
            others = {i: r for i, r in rate.items() if i != "troupe"}
            if "troupe" in rate and others:
                best = max(others, key=others.get)
                row += [best, f"{rate['troupe'] / others[best]:.2f}x"]
            else:
                row += ["-", "-"]
        print("| " + " | ".join(row) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
