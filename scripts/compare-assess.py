#!/usr/bin/env python3
"""Before/after of an assessment change on the profiles encoded from real documents and the
examples: every provision verdict, market verdict and tier that differs between two builds.

usage: scripts/compare-assess.py OLD_BIN OLD_TREE NEW_BIN [DATE]
  OLD_BIN   an iotrust binary built from the old commit (e.g. a `git worktree` of it)
  OLD_TREE  that commit's checkout: its own copies of the profiles are assessed by OLD_BIN
  NEW_BIN   the binary of the current tree (run from the repository root)
Exit 0; prints one line per profile and the totals.
"""
import glob
import json
import subprocess
import sys


def run(binary, path, date):
    r = subprocess.run([binary, "assess", path, "--format", "json", "--date", date],
                       capture_output=True, text=True)
    if not r.stdout:
        sys.exit(f"{binary} {path}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    old_bin, old_tree, new_bin = sys.argv[1:4]
    date = sys.argv[4] if len(sys.argv) > 4 else "2026-12-08"
    files = sorted(glob.glob("tests/real-products/*.toml")) + sorted(glob.glob("examples/profiles/*.toml"))
    compared = changed = 0
    for f in files:
        a, b = run(old_bin, f"{old_tree}/{f}", date), run(new_bin, f, date)
        pa = {(s["scheme"], p["id"]): p["verdict"] for s in a["schemes"] for p in s["provisions"]}
        pb = {(s["scheme"], p["id"]): p["verdict"] for s in b["schemes"] for p in s["provisions"]}
        diff = [(k, pa[k], pb[k]) for k in sorted(pa) if k in pb and pa[k] != pb[k]]
        markets = lambda x: {m["market"]: m["access"] for m in x["markets"]}
        ma, mb = markets(a), markets(b)
        mdiff = [(k, ma[k], mb.get(k)) for k in sorted(ma, key=str) if ma[k] != mb.get(k)]
        compared += len(pa.keys() & pb.keys())
        changed += len(diff)
        print(f"{f}: {len(diff)} provision verdict(s) changed; markets {mdiff or 'unchanged'}; "
              f"tier {a['summary']['tier']} -> {b['summary']['tier']}")
        for k, x, y in diff:
            print(f"    {k[0]}#{k[1]}: {x} -> {y}")
    print(f"total: {changed} of {compared} provision verdicts changed in {len(files)} profiles")


if __name__ == "__main__":
    main()
