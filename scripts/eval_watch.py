#!/usr/bin/env python3
"""Scores `iotrust watch` on the labelled corpus written by `watch-corpus`.

For every scenario and every traffic input of it (pcap, Zeek), runs watch twice — default
settings, and with the scenario's C2 addresses as --indicators — and compares the incidents
with labels.json: per host, truth, TP/FP/FN/TN, the detectors that fired, the highest
severity, the number of incidents opened, and the time to detect (stream time from the
start of the host's malicious behaviour to the `last_seen` of its first `opened` event).

A host is flagged when an incident names it as `device` with role `infected-device` (hosts
whose truth is infected or benign) or `victim` (truth victim). Standard library only;
robust to watch printing nothing or failing.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys

SEVERITY = ["low", "medium", "high", "critical"]


def parse_time_us(s):
    """RFC 3339 (as watch writes it) to microseconds since the epoch, or None."""
    if not isinstance(s, str) or len(s) < 19:
        return None
    try:
        base = dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    rest = s[19:]
    frac_us = 0
    if rest.startswith("."):
        digits = ""
        i = 1
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        frac_us = int((digits + "000000")[:6]) if digits else 0
        rest = rest[i:]
    offset = 0
    if rest and rest[0] in "+-" and len(rest) >= 6:
        sign = 1 if rest[0] == "+" else -1
        try:
            offset = sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
        except ValueError:
            offset = 0
    return (int(base.timestamp()) - offset) * 1_000_000 + frac_us


def resolve(scen_dir, f):
    return f if os.path.isabs(f) else os.path.join(scen_dir, f)


def run_watch(iotrust, scen_dir, inp, indicators, out_file, log_file):
    args = [iotrust, "watch"]
    for f in inp.get("pcap", []):
        args += ["--pcap", resolve(scen_dir, f)]
    for f in inp.get("zeek", []):
        args += ["--zeek", resolve(scen_dir, f)]
    if indicators:
        args += ["--indicators", indicators]
    args += ["-o", out_file]
    if os.path.exists(out_file):
        os.remove(out_file)
    with open(log_file, "w") as log:
        try:
            rc = subprocess.run(args, stdout=log, stderr=log, timeout=600).returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            log.write(f"eval: could not run watch: {e}\n")
            rc = -1
    events = []
    try:
        with open(out_file) as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(ev, dict):
                    events.append(ev)
    except OSError:
        pass
    return rc, events, " ".join(args)


def score_host(host, events):
    truth = host["truth"]
    want_role = "victim" if truth == "victim" else "infected-device"
    mine = [e for e in events if e.get("device") == host["address"] and e.get("role") == want_role]
    flagged = bool(mine)
    detectors = sorted({str(e.get("detector")) for e in mine})
    sev = None
    for e in mine:
        s = e.get("severity")
        if s in SEVERITY and (sev is None or SEVERITY.index(s) > SEVERITY.index(sev)):
            sev = s
    opened = [e for e in mine if e.get("event") == "opened"]
    closed = [e for e in mine if e.get("event") == "closed"]
    ttd = None
    start = host.get("malicious_start_us")
    if opened and start is not None:
        first = min((parse_time_us(e.get("last_seen")) for e in opened if parse_time_us(e.get("last_seen")) is not None), default=None)
        if first is not None:
            ttd = (first - start) / 1e6
    if truth in ("infected", "victim"):
        outcome = "TP" if flagged else "FN"
    else:
        outcome = "FP" if flagged else "TN"
    return {
        "address": host["address"],
        "truth": truth,
        "what": host.get("what", ""),
        "flagged": flagged,
        "outcome": outcome,
        "detectors": detectors,
        "severity": sev,
        "opened": len(opened),
        "closed": len(closed),
        "ttd_s": ttd,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, help="directory written by watch-corpus")
    ap.add_argument("--iotrust", required=True, help="the iotrust binary")
    ap.add_argument("--runs", required=True, help="directory for watch outputs")
    ap.add_argument("--markdown", help="also write the tables as Markdown here")
    ap.add_argument("--json", help="also write every result as JSON here")
    a = ap.parse_args()

    try:
        with open(os.path.join(a.corpus, "index.json")) as fh:
            index = json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        print(f"eval: cannot read the corpus index: {e}", file=sys.stderr)
        return 2
    os.makedirs(a.runs, exist_ok=True)
    results = []
    for entry in index:
        scen_dir = os.path.join(a.corpus, entry["dir"])
        with open(os.path.join(scen_dir, "labels.json")) as fh:
            labels = json.load(fh)
        ind_file = os.path.join(a.runs, f"{entry['dir']}.indicators")
        with open(ind_file, "w") as fh:
            fh.write(f"# C2 of scenario {labels['scenario']} (from labels.json)\n")
            for c in labels.get("c2", []):
                fh.write(f"{c}\tc2-{labels.get('family') or 'unknown'}\n")
        labelled = {h["address"] for h in labels["hosts"]}
        for inp in labels["inputs"]:
            for mode in ("default", "indicators"):
                stem = os.path.join(a.runs, f"{entry['dir']}.{inp['name']}.{mode}")
                rc, events, cmd = run_watch(
                    a.iotrust, scen_dir, inp, ind_file if mode == "indicators" else None, stem + ".jsonl", stem + ".log"
                )
                others = sorted({e.get("device") for e in events if e.get("device") not in labelled and e.get("event") == "opened"} - {None})
                results.append({
                    "scenario": labels["scenario"],
                    "class": labels["class"],
                    "family": labels.get("family"),
                    "seven": labels.get("in_issue_seven", False),
                    "input": inp["name"],
                    "mode": mode,
                    "exit": rc,
                    "command": cmd,
                    "events": len(events),
                    "other_devices_flagged": others,
                    "hosts": [score_host(h, events) for h in labels["hosts"]],
                })

    # ---- tables
    head = ["scenario", "class", "input", "mode", "host", "truth", "result", "detectors", "severity", "opened", "TTD s", "others"]
    rows = []
    for r in results:
        for h in r["hosts"]:
            rows.append([
                r["scenario"], r["class"], r["input"], r["mode"], h["address"], h["truth"], h["outcome"],
                ",".join(h["detectors"]) or "-", h["severity"] or "-", str(h["opened"]),
                "-" if h["ttd_s"] is None else f"{h['ttd_s']:.1f}",
                str(len(r["other_devices_flagged"])),
            ])

    def scen_found(name, mode, within=None):
        rs = [r for r in results if r["scenario"] == name and r["mode"] == mode]
        if not rs:
            return False
        for r in rs:
            for h in r["hosts"]:
                if h["truth"] in ("infected", "victim"):
                    if not h["flagged"]:
                        return False
                    if within is not None and (h["ttd_s"] is None or h["ttd_s"] > within):
                        return False
        return True

    scen = []
    for r in results:
        if r["scenario"] not in [s[0] for s in scen]:
            scen.append((r["scenario"], r["class"], r["seven"]))
    botnets = [s for s in scen if s[1] == "botnet"]
    seven = [s for s in botnets if s[2]]
    attacks = [s for s in scen if s[1] == "attack"]
    failures = [s for s in scen if s[1] == "failure-class"]
    found = [s[0] for s in botnets if scen_found(s[0], "default")]
    found7 = [s[0] for s in seven if scen_found(s[0], "default")]
    fast_ind = [s[0] for s in botnets if scen_found(s[0], "indicators", within=10.0)]
    fast_ind7 = [s[0] for s in seven if scen_found(s[0], "indicators", within=10.0)]
    att = [s[0] for s in attacks if scen_found(s[0], "default")]
    benign_hosts = {}
    for r in results:
        for h in r["hosts"]:
            if h["truth"] == "benign":
                key = (r["scenario"], h["address"])
                benign_hosts[key] = benign_hosts.get(key, False) or (r["mode"] == "default" and h["flagged"])
    benign_flagged = sorted(k for k, v in benign_hosts.items() if v)
    fail_rows = []
    for s in failures:
        for r in results:
            if r["scenario"] == s[0]:
                for h in r["hosts"]:
                    fail_rows.append(f"{s[0]} [{r['input']}, {r['mode']}]: {h['outcome']}, {h['opened']} opened / {h['closed']} closed ({','.join(h['detectors']) or 'nothing'})")
    totals = [
        ("botnet scenarios found without indicators", f"{len(found)} of {len(botnets)}", ", ".join(found) or "none"),
        ("  of the issue's seven", f"{len(found7)} of {len(seven)}", ", ".join(found7) or "none"),
        ("benign devices flagged (any severity, default run)", f"{len(benign_flagged)} of {len(benign_hosts)}", ", ".join(f"{a} ({s})" for s, a in benign_flagged) or "none"),
        ("attack captures reported", f"{len(att)} of {len(attacks)}", ", ".join(att) or "none"),
        ("botnet scenarios found within 10 s with indicators", f"{len(fast_ind)} of {len(botnets)}", ", ".join(fast_ind) or "none"),
        ("  of the issue's seven", f"{len(fast_ind7)} of {len(seven)}", ", ".join(fast_ind7) or "none"),
    ]
    failed_runs = [f"{r['scenario']} [{r['input']}, {r['mode']}]: exit {r['exit']}" for r in results if r["exit"] not in (0,)]

    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) if rows else len(head[i]) for i in range(len(head))]
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(head)))
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)))
    print()
    print("Totals (a scenario counts when every infected/victim host is flagged in every input form):")
    for name, val, which in totals:
        print(f"  {name}: {val}  [{which}]")
    print("Failure shapes:")
    for f in fail_rows:
        print(f"  {f}")
    if failed_runs:
        print("watch runs that did not exit 0 (exit 1 can mean incidents found; see the .log files):")
        for f in failed_runs:
            print(f"  {f}")

    if a.markdown:
        with open(a.markdown, "w") as fh:
            fh.write("| " + " | ".join(head) + " |\n")
            fh.write("|" + "---|" * len(head) + "\n")
            for row in rows:
                fh.write("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n")
            fh.write("\n| total | value | which |\n|---|---|---|\n")
            for name, val, which in totals:
                fh.write(f"| {name.strip()} | {val} | {which} |\n")
            fh.write("\nFailure shapes:\n\n")
            for f in fail_rows:
                fh.write(f"- {f}\n")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
