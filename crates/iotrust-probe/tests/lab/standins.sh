# Lightweight device stand-ins for the probe's scale benchmark (scripts/bench-probe.sh), not
# used by tests/lab.rs. Run inside `ip netns exec <ns>` like the device scripts; environment as
# in common.sh plus ADDRS (file: one IPv4 address per line) and PREFIX (their prefix length).
# Every address gets its own BusyBox telnetd (BusyBox login, account admin/admin: a Mirai pair)
# and BusyBox httpd; even-numbered stand-ins protect the web page with Basic admin/admin, odd
# ones with a strong password, so half of the HTTP checks run through the whole list.
. "$LAB/common.sh"

account admin admin 1000
ln -sf /bin/busybox "$DIR/bin/login"
mkdir -p "$DIR/www"
echo "<html><title>stand-in</title>ok</html>" >"$DIR/www/index.html"
echo "/:admin:admin" >"$DIR/httpd-weak.conf"
echo "/:admin:Zq8-strong-Pw-7x!" >"$DIR/httpd-strong.conf"

i=0
while read -r addr; do
    ip addr add "$addr/$PREFIX" dev eth0
    start /bin/busybox telnetd -F -p 23 -b "$addr" -l "$DIR/bin/login"
    if [ $((i % 2)) -eq 0 ]; then conf=weak; else conf=strong; fi
    start /bin/busybox httpd -f -p "$addr:80" -h "$DIR/www" -r stand-in -c "$DIR/httpd-$conf.conf"
    i=$((i + 1))
done <"$ADDRS"

# wait until every telnetd and httpd listens (at most 20 s)
n=0
while [ $n -lt 200 ]; do
    t=$(grep -c ':0017 00000000:0000 0A ' /proc/net/tcp || true)
    h=$(grep -c ':0050 00000000:0000 0A ' /proc/net/tcp || true)
    [ "$t" -ge "$i" ] && [ "$h" -ge "$i" ] && exit 0
    n=$((n + 1))
    sleep 0.1
done
echo "only $t telnet and $h http listeners of $i came up" >&2
exit 1
