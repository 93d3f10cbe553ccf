#!/usr/bin/env bash
# Probe benchmark (issue 4, point 7): `iotrust probe` against nmap and hydra, side by side in
# one run on the same lab of real daemons, then a scale run on many lightweight stand-ins.
#
#   sudo scripts/bench-probe.sh            # results in $CARGO_TARGET_DIR/bench-probe/
#
# Needs root, `ip netns`, the lab packages (crates/iotrust-probe/tests/lab/PACKAGES) and
# scripts/bench-packages.txt (installed with apt-get when missing).
#
# The lab is the one tests/lab.rs builds: a scanner namespace with a bridge, one namespace per
# device (tests/lab/*.toml names the script and host number; tests/lab/*.sh start the daemons),
# addresses in 10.213.0.0/24 that exist only inside these namespaces, no default route. Every
# tool runs inside the scanner namespace, so nothing can leave the lab. The scale lab is a
# second pair of namespaces: SCALE_N addresses in 10.213.16.0/20 on one veth, each with its own
# BusyBox telnetd and httpd (tests/lab/standins.sh). Everything is removed on exit, also on
# failure or Ctrl-C.
#
# All tools get the same credentials: the probe's built-in list (Mirai's 62 pairs plus the
# vendor defaults, most common first) as `user,password` for iotrust (--no-builtin-credentials
# --credentials), `user/password` for nmap (brute.credfile) and `user:password` for hydra (-C);
# SNMP communities from data/snmp-communities.txt for all three.
#
# Environment: PARTS (which parts run: "lab scale" by default; "lab" or "scale" for one),
# SCALE_N (stand-ins, default 256), CARGO_JOBS (cargo -j), NO_BUILD=1 (use the release binary
# already built), BIN (an iotrust binary to use instead of building one), NMAP_TIMEOUT and
# HYDRA_TIMEOUT (seconds per run, default 900 and 300), SKIP_NMAP_TUNED=1 (one nmap run only).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB=$ROOT/crates/iotrust-probe/tests/lab
DATA=$ROOT/crates/iotrust-probe/data
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET_DIR/bench-probe
SCALE_N=${SCALE_N:-256}
PARTS=${PARTS:-lab scale}
NMAP_TIMEOUT=${NMAP_TIMEOUT:-900}
HYDRA_TIMEOUT=${HYDRA_TIMEOUT:-300}
read -r -a DEVICES <<<"${LAB_DEVICES:-camera router dvr hardened legacy legacy2 gateway sensorhub renderer}"
NET=10.213.0
SCALE_PREFIX=20
SCALE_SCOPE=10.213.16.0/$SCALE_PREFIX
SCALE_SCANNER=10.213.31.254

[ "$(id -u)" = 0 ] || { echo "bench-probe: run as root (network namespaces)" >&2; exit 1; }

# --- packages -----------------------------------------------------------------------------
missing=()
for p in $(grep -v '^#' scripts/bench-packages.txt) $(cat "$LAB/PACKAGES"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# --- build --------------------------------------------------------------------------------
if [ -n "${BIN:-}" ]; then
    [ -x "$BIN" ] || { echo "bench-probe: BIN=$BIN is not an executable" >&2; exit 1; }
    echo "using $BIN" >&2
    NO_BUILD=1
fi
BIN=${BIN:-$TARGET_DIR/release/iotrust}
if [ "${NO_BUILD:-0}" = 1 ] && [ -x "$BIN" ]; then
    echo "NO_BUILD=1: using the existing $BIN" >&2
else
    cargo build -q --release -p iotrust-cli ${CARGO_JOBS:+-j "$CARGO_JOBS"}
fi
rm -rf "$OUT"
mkdir -p "$OUT"

# --- lab bookkeeping and teardown ---------------------------------------------------------
P=iotrust-b$$
T=ib$(($$ % 100000))
S=$P-s
NAMESPACES=()
LINKS=()
WORK=$(mktemp -d /tmp/iotrust-bench-XXXXXX)
chmod 755 "$WORK"

cleanup() {
    set +e
    for f in "$WORK"/*/pids; do
        [ -f "$f" ] && kill -TERM $(cat "$f") 2>/dev/null
    done
    sleep 0.3
    local i pids
    for ((i = ${#NAMESPACES[@]} - 1; i >= 0; i--)); do
        pids=$(ip netns pids "${NAMESPACES[i]}" 2>/dev/null)
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    done
    sleep 0.1
    for ((i = ${#NAMESPACES[@]} - 1; i >= 0; i--)); do
        ip netns del "${NAMESPACES[i]}" 2>/dev/null
    done
    for l in "${LINKS[@]}"; do
        ip link del "$l" 2>/dev/null # only if it never left the root namespace
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_add() {
    ip netns add "$1"
    NAMESPACES+=("$1")
}

toml_value() { # FILE KEY: a top-level scalar
    sed -n "s/^$2 *= *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" "$1" | head -1
}

# device NAME: namespace, veth to the scanner bridge, then the device's own script (as lab.rs)
device() {
    local name=$1 toml=$LAB/$1.toml host script ns a b ip
    host=$(toml_value "$toml" host)
    script=$(toml_value "$toml" script)
    ns=$P-$name a=${T}s$host b=${T}d$host ip=$NET.$host
    ns_add "$ns"
    ip link add "$a" type veth peer name "$b"
    LINKS+=("$a")
    ip link set "$a" netns "$S"
    ip link set "$b" netns "$ns"
    ip -n "$S" link set "$a" master br0 up
    ip -n "$ns" link set "$b" name eth0
    ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add 224.0.0.0/4 dev eth0
    mkdir -p "$WORK/$name"
    if ! DIR=$WORK/$name IP=$ip LAB=$LAB ip netns exec "$ns" sh "$LAB/$script"; then
        echo "device $name did not start:" >&2
        cat "$WORK/$name/daemons.log" >&2 || true
        exit 1
    fi
    echo "$name $ip" >>"$OUT/devices.txt"
}

# timed LABEL CMD...: run CMD in the scanner namespace under /usr/bin/time -v
timed() {
    local label=$1 rc=0
    shift
    ip netns exec "$S" /usr/bin/time -v -o "$OUT/$label.time" "$@" </dev/null >"$OUT/$label.out" 2>"$OUT/$label.err" || rc=$?
    echo "$rc" >"$OUT/$label.rc"
    [ "$rc" = 0 ] || echo "note: $label exited with $rc (see $OUT/$label.err)" >&2
}

# --- the credential list, in each tool's format ---------------------------------------------
python3 - "$DATA" "$OUT" <<'PY'
import csv, sys
data, out = sys.argv[1:3]
mirai = sorted(csv.DictReader(open(f"{data}/mirai.csv")), key=lambda r: -int(r["weight"] or 0))
vendor = list(csv.DictReader(open(f"{data}/vendor-defaults.csv")))
pairs = []
for r in mirai + vendor:
    p = (r["user"], r["password"])
    if p not in pairs:
        pairs.append(p)
for u, p in pairs:
    assert "/" not in u + p and ":" not in u + p and "," not in u + p and '"' not in u + p, (u, p)
open(f"{out}/creds.csv", "w").write("user,password\n" + "".join(f"{u},{p}\n" for u, p in pairs))
open(f"{out}/creds-nmap.txt", "w").write("".join(f"{u}/{p}\n" for u, p in pairs))
open(f"{out}/creds-hydra.txt", "w").write("".join(f"{u}:{p}\n" for u, p in pairs))
comms = [l.strip() for l in open(f"{data}/snmp-communities.txt") if l.strip() and not l.startswith("#")]
open(f"{out}/communities.txt", "w").write("".join(c + "\n" for c in comms))
print(f"credentials: {len(pairs)} pairs, {len(comms)} SNMP communities", file=sys.stderr)
PY

# --- part 1: the lab of real daemons ------------------------------------------------------
part1() {
echo "building the lab ..." >&2
ns_add "$S"
ip -n "$S" link set lo up
ip -n "$S" link add br0 type bridge
ip -n "$S" addr add "$NET.1/24" dev br0
ip -n "$S" link set br0 up
: >"$OUT/devices.txt"
for d in "${DEVICES[@]}"; do device "$d"; done
TARGETS=$(awk '{print $2}' "$OUT/devices.txt" | tr '\n' ' ')
TCP_PORTS=$(tr '\n' ' ' <crates/iotrust-probe/src/config.rs | sed 's/.*DEFAULT_TCP_PORTS: &\[u16\] = &\[\([^]]*\)\].*/\1/' | tr -cs '0-9' ',' | sed 's/^,//; s/,$//')
UDP_PORTS=$(sed -n 's/.*DEFAULT_UDP_PORTS.*= &\[\(.*\)\];/\1/p' crates/iotrust-probe/src/config.rs | tr -d ' ')
echo "lab: $TARGETS; tcp $TCP_PORTS; udp $UDP_PORTS" >&2

echo "iotrust probe ..." >&2
# shellcheck disable=SC2086
timed iotrust "$BIN" probe $TARGETS --scope "$NET.0/24" -o "$OUT/iotrust.json" \
    --no-builtin-credentials --credentials "$OUT/creds.csv"

if [ "${SKIP_PEERS:-0}" = 1 ]; then
    python3 - "$OUT" <<'PY'
import json, re, sys
out = sys.argv[1]
t = open(f"{out}/iotrust.time").read()
w = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
print(f"iotrust probe: {int(w.group(1) or 0) * 3600 + int(w.group(2)) * 60 + float(w.group(3)):.1f} s")
for d in json.load(open(f"{out}/iotrust.json"))["devices"]:
    print(d["address"], d["started"], d["finished"], len(d["findings"]), "findings", d.get("incomplete") or "")
PY
    return
fi
NMAP_SCRIPTS=telnet-brute,ssh-brute,ftp-anon,http-brute,http-default-accounts,mqtt-subscribe,snmp-brute,ssl-enum-ciphers,ssh2-enum-algos,upnp-info,coap-resources,sshv1
NMAP_ARGS="brute.credfile=$OUT/creds-nmap.txt,brute.firstonly=true,snmp-brute.communitiesdb=$OUT/communities.txt,mqtt-subscribe.topic=#"
nmap_run() { # LABEL EXTRA-ARGS...
    local label=$1
    shift
    echo "$label ..." >&2
    # shellcheck disable=SC2086
    timed "$label" timeout "$NMAP_TIMEOUT" nmap -n -Pn -sS -sU -sV -p "T:$TCP_PORTS,U:$UDP_PORTS" \
        --script "$NMAP_SCRIPTS" --script-args "$NMAP_ARGS" "$@" -oX "$OUT/$label.xml" $TARGETS
}
nmap_run nmap
[ "${SKIP_NMAP_TUNED:-0}" = 1 ] || nmap_run nmap-mp200 --max-parallelism 200

# hydra: one run per credential service of the lab (services listed in tests/lab/*.toml), all
# at once; services hydra has no module for (MQTT, SSDP, NAT-PMP) are listed as such.
echo "hydra ..." >&2
: >"$OUT/hydra-jobs.txt"
hydra_start=$(date +%s.%N)
while read -r name ip; do
    while read -r port transport protocol; do
        args=()
        case "$protocol" in
            telnet) args=(telnet) ;;
            ssh) args=(-t 4 ssh) ;;
            ftp) args=(ftp) ;;
            https) args=(https-get /) ;;
            http)
                # hydra cannot find an HTML form by itself: the router's form (tests/lab/router.sh)
                # is spelled out as a user reading the page would write it
                if [ "$name/$port" = router/81 ]; then
                    args=(http-post-form "/cgi-bin/login.cgi:username=^USER^&password=^PASS^&lang=en:F=Invalid")
                else
                    args=(http-get /)
                fi
                ;;
            snmp) args=(snmp) ;;
            rtsp) args=(rtsp) ;;
            *) echo "$name $protocol/$port none" >>"$OUT/hydra-jobs.txt"; continue ;;
        esac
        label=hydra-$name-$protocol-$port
        echo "$name $protocol/$port $label" >>"$OUT/hydra-jobs.txt"
        if [ "$protocol" = snmp ]; then
            cred=(-P "$OUT/communities.txt")
        else
            cred=(-C "$OUT/creds-hydra.txt")
        fi
        timed "$label" timeout "$HYDRA_TIMEOUT" hydra -I -f "${cred[@]}" -s "$port" "$ip" "${args[@]}" &
    done < <(sed -n 's/.*port = \([0-9]*\), transport = "\([a-z]*\)", protocol = "\([a-z-]*\)".*/\1 \2 \3/p' "$LAB/$name.toml")
done <"$OUT/devices.txt"
wait
hydra_end=$(date +%s.%N)
echo "$hydra_start $hydra_end" >"$OUT/hydra.wall"

# --- compare --------------------------------------------------------------------------------
IOTRUST_BIN="$BIN" python3 - "$LAB" "$OUT" "${DEVICES[@]}" >"$OUT/report.md" <<'PY'
import json, os, re, subprocess, sys, tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

lab, out, devices = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
addr = dict(l.split() for l in (out / "devices.txt").read_text().splitlines())
by_ip = {v: k for k, v in addr.items()}
expected = set()
for d in devices:
    spec = tomllib.loads((lab / f"{d}.toml").read_text())
    for e in spec["expect"]:
        expected.add((d, e["service"], e["id"]))

# the login accounts each device script creates (`account USER PASSWORD UID`)
accounts = {}
for d in devices:
    spec = tomllib.loads((lab / f"{d}.toml").read_text())
    accounts[d] = {(u, p.strip("'\"")) for u, p in re.findall(r"^account (\S+) (\S+) \d+", (lab / spec["script"]).read_text(), re.M)}

def timing(label):
    t = (out / f"{label}.time").read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
    secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    return secs, rss

def iotrust():
    ev = json.loads((out / "iotrust.json").read_text())
    found = set()
    for d in ev["devices"]:
        for f in d["findings"]:
            found.add((by_ip.get(d["address"], d["address"]), f.get("service"), f["id"]))
    return found

def nmap(label):
    """nmap's output mapped to the probe's finding kinds; generous: a service nmap identified
    counts as the cleartext/needless finding the probe derives from the same fact."""
    found, notes = set(), []
    root = ET.parse(out / f"{label}.xml").getroot()
    for h in root.iter("host"):
        ip = h.find("address[@addrtype='ipv4']").get("addr")
        dev = by_ip.get(ip, ip)
        for p in h.iter("port"):
            state = p.find("state").get("state")
            if state != "open":
                continue
            port, proto = p.get("portid"), p.get("protocol")
            s = p.find("service")
            name = s.get("name", "") if s is not None else ""
            tunnel = s.get("tunnel", "") if s is not None else ""
            if name.startswith("http") or name in ("https-alt", "ssl"):
                svc = "https" if tunnel == "ssl" or name in ("https", "https-alt", "ssl") else "http"
            elif name == "upnp" and proto == "udp":
                svc = "ssdp"
            else:
                svc = name
            label_ = f"{svc}/{port}"
            if svc in ("telnet", "ftp"):
                found |= {(dev, label_, "cleartext-management"), (dev, label_, "needless-service")}
            if svc in ("http", "snmp"):
                found.add((dev, label_, "cleartext-management"))
            if svc == "nat-pmp":
                found.add((dev, label_, "nat-pmp-exposed"))
            for sc in p.iter("script"):
                sid, o = sc.get("id"), sc.get("output", "")
                if "ERROR" in o or "failed" in o.lower() or "aborted" in o.lower():
                    notes.append(f"{dev} {label_} {sid}: {' '.join(o.split())[:160]}")
                if sid in ("telnet-brute", "ssh-brute", "http-brute") and "Valid credentials" in o:
                    found.add((dev, label_, "default-credentials"))
                if sid == "http-default-accounts" and re.search(r"\S+:\S*", o) and "ERROR" not in o:
                    found.add((dev, label_, "default-credentials"))
                if sid == "ftp-anon" and "Anonymous FTP login allowed" in o:
                    found.add((dev, label_, "ftp-anonymous"))
                if sid == "mqtt-subscribe" and "Topic" in o:
                    found.add((dev, label_, "mqtt-anonymous"))
                if sid == "snmp-brute" and "Valid credentials" in o:
                    found.add((dev, label_, "snmp-default-community"))
                if sid == "ssl-enum-ciphers":
                    if re.search(r"^\s*(SSLv3|TLSv1\.0|TLSv1\.1):", o, re.M):
                        found.add((dev, label_, "tls-legacy-version"))
                    if re.search(r"certificate signature \(?(SHA1|MD5)", o, re.I):
                        found.add((dev, label_, "tls-weak-signature"))
                    if re.search(r"\(rsa (512|768|1024)\)", o):
                        found.add((dev, label_, "tls-weak-key"))
                if sid == "sshv1" and "supports SSHv1" in o:
                    found.add((dev, label_, "ssh-protocol-1"))
                if sid == "coap-resources" and "/" in o:
                    found.add((dev, label_, "coap-exposed"))
                if sid == "upnp-info" and ("InternetGatewayDevice" in o or "Location" in o):
                    found.add((dev, "ssdp/1900", "upnp-igd-exposed"))
    # SSH algorithms and TLS suites from ssh2-enum-algos and ssl-enum-ciphers, judged by the
    # same rules as the probe's (`iotrust evidence import --from nmap-xml`).
    config = {"ssh-weak-kex", "ssh-weak-host-key", "ssh-weak-cipher", "ssh-weak-mac", "ssh-terrapin",
              "tls-weak-cipher", "tls-no-forward-secrecy", "tls-cbc-only"}
    imported = json.loads(subprocess.run([os.environ["IOTRUST_BIN"], "evidence", "import", "--from", "nmap-xml",
                                          str(out / f"{label}.xml")], check=True, capture_output=True).stdout)
    for d in imported["devices"]:
        for f in d["findings"]:
            if f["id"] in config:
                port = f["service"].split("/")[-1]
                found.add((by_ip.get(d["address"], d["address"]), f["service"], f["id"]))
    return found, notes

def hydra():
    found, notes, rss = set(), [], 0
    for line in (out / "hydra-jobs.txt").read_text().splitlines():
        dev, svc, label = line.split()
        if label == "none":
            notes.append(f"{dev} {svc}: no hydra module")
            continue
        rss = max(rss, timing(label)[1])
        text = (out / f"{label}.out").read_text(errors="replace")
        rc = (out / f"{label}.rc").read_text().strip()
        if rc == "124":
            notes.append(f"{dev} {svc}: stopped by the timeout")
        hits = [l for l in text.splitlines() if re.match(r"^\[\d+\]\[[\w-]+\] host: ", l)]
        if svc.startswith("rtsp/") and "does not need credentials" in text:
            # hydra's rtsp module says so instead of guessing: counted as the open stream
            found.add((dev, svc, "rtsp-unauthenticated"))
            notes.append(f"{dev} {svc}: hydra says the server does not need credentials")
            hits = []
        for h_ in hits:
            kind = "snmp-default-community" if svc.startswith("snmp/") else "default-credentials"
            m = re.search(r"login: (\S+)\s+password: (.*)$", h_)
            pair = (m.group(1), m.group(2).strip()) if m else None
            if svc.split("/")[0] in ("telnet", "ssh") and pair and pair not in accounts[dev]:
                # the device has no such account: a false login, whatever else is true there
                found.add((dev, svc, kind + " (no such account)"))
                notes.append(f"{dev} {svc}: reported {pair[0]}/*** — not an account on the device: false positive")
            else:
                found.add((dev, svc, kind))
        if hits:
            notes.append(f"{dev} {svc}: {len(hits)} login(s) reported: " + "; ".join(re.sub(r"password: .*", "password: ***", h.split("host: ")[1]) for h in hits))
    return found, notes, rss

rows, sets, notes = [], {}, {}
secs, rss = timing("iotrust")
sets["iotrust probe"] = iotrust()
rows.append(("iotrust probe", secs, rss))
for label, title in (("nmap", "nmap -sV + 12 scripts"), ("nmap-mp200", "nmap -sV + 12 scripts, --max-parallelism 200")):
    if (out / f"{label}.xml").exists():
        s, n = nmap(label)
        sets[title], notes[title] = s, n
        secs, rss = timing(label)
        rows.append((title, secs, rss))
h, n, hrss = hydra()
hs, he = map(float, (out / "hydra.wall").read_text().split())
sets["hydra (one run per service, all at once)"], notes["hydra (one run per service, all at once)"] = h, n
rows.append(("hydra (one run per service, all at once)", he - hs, hrss))

print("| tool | wall | " + " | ".join(f"{d} (true/false/missed)" for d in devices) + " | total true/false/missed | peak RSS |")
print("|---|---|" + "---|" * len(devices) + "---|---|")
for title, secs, rss in rows:
    f = sets[title]
    cells, tt = [], [0, 0, 0]
    for d in devices:
        e = {x for x in expected if x[0] == d}
        g = {x for x in f if x[0] == d}
        c = (len(g & e), len(g - e), len(e - g))
        tt = [a + b for a, b in zip(tt, c)]
        cells.append("%d / %d / %d" % c)
    print(f"| {title} | {secs:.1f} s | " + " | ".join(cells) + " | %d / %d / %d | " % tuple(tt) + f"{rss / 1024:.1f} MiB |")
print(f"\nexpected findings (tests/lab/*.toml): {len(expected)}")
ours = sets["iotrust probe"]
for title, secs, _ in rows[1:]:
    print(f"\n### {title}\n")
    t = rows[0][1]
    print(f"- wall {secs:.1f} s; iotrust probe {t:.1f} s; ratio {secs / t:.1f}x")
    true = sets[title] & expected
    print(f"- its true findings not found by iotrust probe: {sorted(true - ours) or 'none'} (superset: {'yes' if not (true - ours) else 'NO'})")
    print(f"- its false positives: {sorted(sets[title] - expected) or 'none'}")
    print(f"- it missed: {sorted(expected - sets[title])}")
    for n_ in notes.get(title, []):
        print(f"- note: {n_}")
print("\n### iotrust probe\n")
print(f"- false positives: {sorted(ours - expected) or 'none'}")
print(f"- missed: {sorted(expected - ours) or 'none'}")
PY
cat "$OUT/report.md"
}

# --- part 2: scale ------------------------------------------------------------------------
part2() {
echo "scale lab: $SCALE_N stand-ins ..." >&2
S2=$P-s2
D2=$P-d2
ns_add "$S2"
ns_add "$D2"
ip link add "${T}x" type veth peer name "${T}y"
LINKS+=("${T}x")
ip link set "${T}x" netns "$S2"
ip link set "${T}y" netns "$D2"
ip -n "$S2" link set lo up
ip -n "$S2" link set "${T}x" name eth0
ip -n "$S2" addr add "$SCALE_SCANNER/$SCALE_PREFIX" dev eth0
ip -n "$S2" link set eth0 up
ip -n "$D2" link set lo up
ip -n "$D2" link set "${T}y" name eth0
ip -n "$D2" link set eth0 up
for ((i = 0; i < SCALE_N; i++)); do
    echo "10.213.$((16 + i / 200)).$((i % 200 + 1))"
done >"$OUT/scale-targets.txt"
mkdir -p "$WORK/standins"
up_start=$(date +%s.%N)
if ! DIR=$WORK/standins IP=- ADDRS=$OUT/scale-targets.txt PREFIX=$SCALE_PREFIX LAB=$LAB \
    ip netns exec "$D2" sh "$LAB/standins.sh"; then
    cat "$WORK/standins/daemons.log" >&2 || true
    exit 1
fi
up_end=$(date +%s.%N)
echo "scale run ..." >&2
rc=0
ip netns exec "$S2" /usr/bin/time -v -o "$OUT/scale.time" "$BIN" probe --targets-file "$OUT/scale-targets.txt" \
    --scope "$SCALE_SCOPE" --format jsonl -o "$OUT/scale.json" >"$OUT/scale.out" 2>"$OUT/scale.err" || rc=$?
[ "$rc" = 0 ] || echo "note: scale run exited with $rc (see $OUT/scale.err)" >&2
# accept-queue overflows on the stand-ins' side (BusyBox telnetd listens with a backlog of 1)
ip netns exec "$D2" nstat -asz TcpExtListenOverflows TcpExtListenDrops >"$OUT/scale.nstat" 2>&1 || true
python3 - "$OUT" "$SCALE_N" "$up_start" "$up_end" >>"$OUT/report.md" <<'PY'
import json, re, sys
from collections import Counter
out, n, us, ue = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
t = open(f"{out}/scale.time").read()
w = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(w.group(1) or 0) * 3600 + int(w.group(2)) * 60 + float(w.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
ev = json.load(open(f"{out}/scale.json"))
devs = ev["devices"]
kinds = Counter((f["id"], (f.get("service") or "").split("/")[0]) for d in devs for f in d["findings"])
tel = sum(any(f["id"] == "default-credentials" and (f.get("service") or "").startswith("telnet/") for f in d["findings"]) for d in devs)
web = sum(any(f["id"] == "default-credentials" and (f.get("service") or "").startswith("http/") for f in d["findings"]) for d in devs)
inc = sum(bool(d.get("incomplete")) for d in devs)
print(f"\n### Scale: {n} stand-ins (BusyBox telnetd + httpd per address)\n")
print(f"| devices | bring-up | probe wall | devices/s | CPU (user+sys) | peak RSS |")
print(f"|---|---|---|---|---|---|")
print(f"| {len(devs)} of {n} | {ue - us:.1f} s | {secs:.1f} s | {len(devs) / secs:.1f} | {cpu:.1f} s | {rss / 1024:.1f} MiB |")
print(f"\n- telnet default credential found on {tel} of {n} (expected {n}); HTTP Basic default on {web} (expected {(n + 1) // 2}); devices with incomplete checks: {inc}")
ns = {l.split()[0]: int(l.split()[1]) for l in open(f"{out}/scale.nstat") if l.startswith("TcpExt")}
print(f"- stand-ins' listen queue overflows: {ns.get('TcpExtListenOverflows', '?')}, dropped connection requests: {ns.get('TcpExtListenDrops', '?')}")
print("- findings by kind: " + ", ".join(f"{k[0]} on {k[1]}: {v}" for k, v in sorted(kinds.items())))
PY
sed -n '/### Scale/,$p' "$OUT/report.md"
}

case " $PARTS " in *" lab "*) part1 ;; esac
case " $PARTS " in *" scale "*) part2 ;; esac
echo "results: $OUT (report.md, raw outputs)" >&2
