#!/usr/bin/env python3
"""Write N varied, valid product profiles as NDJSON (one JSON profile per line) for the bulk
benchmark. Deterministic: the same N and seed give the same bytes.

Usage: scripts/gen-profiles.py N [SEED] > profiles.ndjson
"""
import datetime
import glob
import json
import os
import random
import sys
import tomllib

def load_examples():
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for path in sorted(glob.glob(os.path.join(here, "..", "examples", "profiles", "*.toml"))):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        doc.pop("evidence", None)  # evidence files are relative paths; keep profiles self-contained
        doc.pop("labels", None)
        out.append(doc)
    return out

def jsonable(v):
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()[:10]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v

MARKETS = ["UK", "EU", "US", "AU", "SG", "JP", "DE", "FI", "KR", "US-CA"]

def vary(doc, i, rng):
    d = json.loads(json.dumps(jsonable(doc)))
    p = d["product"]
    p["model"] = f"{p['model']}-{i:06d}"
    p["markets"] = sorted(rng.sample(MARKETS, rng.randint(1, 4)))
    for section, facts in d.items():
        if section in ("product", "schema") or not isinstance(facts, dict):
            continue
        for k, v in list(facts.items()):
            if isinstance(v, bool) and rng.random() < 0.15:
                facts[k] = not v
    sup = d.get("support", {})
    if "end_date" in sup:
        y = int(sup["end_date"][:4]) + rng.randint(-4, 4)
        sup["end_date"] = f"{y:04d}{sup['end_date'][4:]}"
    return d

def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    examples = load_examples()
    out = sys.stdout
    for i in range(n):
        out.write(json.dumps(vary(examples[i % len(examples)], i, rng), separators=(",", ":")))
        out.write("\n")

main()
