# Sourced by each device script, inside `ip netns exec <device-ns>` (its own mount
# namespace). Environment: DIR (private scratch dir), IP (device address), LAB (this folder).
# Accounts live in private copies of passwd/shadow/group bind-mounted over /etc; /run is a
# fresh tmpfs. Nothing here changes the host outside this mount namespace.
set -eu
mkdir -p "$DIR/etc" "$DIR/bin" "$DIR/empty"
cp /etc/passwd /etc/shadow /etc/group "$DIR/etc/"
for f in passwd shadow group; do mount --bind "$DIR/etc/$f" "/etc/$f"; done
mount -t tmpfs tmpfs /run
mkdir -p /run/sshd
chmod 755 "$DIR"

# start CMD...: run a daemon in the foreground of its own session, remember its PID.
start() {
    setsid "$@" >>"$DIR/daemons.log" 2>&1 </dev/null &
    echo $! >>"$DIR/pids"
}

# account USER PASSWORD UID: a login account with a SHA-512 crypt password.
account() {
    hash=$(openssl passwd -6 "$2")
    echo "$1:x:$3:$3::/tmp:/bin/sh" >>/etc/passwd
    echo "$1:$hash:19000:0:99999:7:::" >>/etc/shadow
    echo "$1:x:$3:" >>/etc/group
}

# wait_port PROTO PORT: wait until something listens (at most 5 s).
wait_port() {
    i=0
    while [ $i -lt 50 ]; do
        hex=$(printf '%04X' "$2")
        if [ "$1" = tcp ] && cat /proc/net/tcp /proc/net/tcp6 | grep -q ":$hex [0-9A-F]*:0000 0A "; then return 0; fi
        if [ "$1" = udp ] && cat /proc/net/udp /proc/net/udp6 | grep -q ":$hex "; then return 0; fi
        i=$((i + 1))
        sleep 0.1
    done
    echo "port $1/$2 did not open" >&2
    cat "$DIR/daemons.log" >&2 || true
    return 1
}

# rtsp PORT PATH MODE [USER PASSWORD]: GStreamer's RTSP server (rtsp-server.py) on $IP.
rtsp() {
    start /usr/bin/python3 "$LAB/rtsp-server.py" "$IP" "$@"
}

# upnp_gateway IFACE...: miniupnpd (UPnP IGD, no NAT-PMP) whose WAN-facing interface is eth1
# ($WAN_IP), answering SSDP and SOAP on the interfaces named. A correct gateway names only eth0
# (its LAN); one that also names eth1 answers anyone on the WAN link, as the routers Akamai
# found exposed in its UPnProxy research do.
upnp_gateway() {
    {
        echo "ext_ifname=eth1"
        for i in "$@"; do echo "listening_ip=$i"; done
        cat <<CONF
port=5000
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=6a1c9d2e-8cf0-11e0-98ee-001a6bd2d0$(printf '%02x' "${IP##*.}")
allow 1024-65535 0.0.0.0/0 1024-65535
CONF
    } >"$DIR/miniupnpd.conf"
    start /usr/sbin/miniupnpd -d -f "$DIR/miniupnpd.conf"
    wait_port tcp 5000
    wait_port udp 1900
}
