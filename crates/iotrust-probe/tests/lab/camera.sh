# An insecure IP camera: busybox telnetd with a Mirai credential, anonymous FTP, HTTP Basic
# with admin/admin, weak TLS (TLS 1.0, RSA-1024, SHA-1, self-signed), anonymous MQTT with
# retained topics, SNMP public/private, UPnP IGD and NAT-PMP (miniupnpd), and an RTSP stream
# anyone can open (GStreamer's RTSP server without authentication).
. "$LAB/common.sh"

account admin admin1234 1000

# telnet: busybox telnetd + busybox login (the applet is chosen by argv[0])
ln -sf /bin/busybox "$DIR/bin/login"
start /bin/busybox telnetd -F -p 23 -b "$IP" -l "$DIR/bin/login"

# ftp: anonymous only
mkdir -p "$DIR/ftp/pub"
echo "firmware notes" >"$DIR/ftp/pub/readme.txt"
chmod 555 "$DIR/ftp"
cat >"$DIR/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$IP
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_root=$DIR/ftp
no_anon_password=NO
secure_chroot_dir=$DIR/empty
seccomp_sandbox=NO
background=NO
pam_service_name=vsftpd
CONF
start /usr/sbin/vsftpd "$DIR/vsftpd.conf"

# http: basic auth admin/admin on 80; weak TLS on 8443
mkdir -p "$DIR/www"
echo "<html><title>IPCAM</title>live view</html>" >"$DIR/www/index.html"
echo "admin:admin" >"$DIR/users"
openssl req -x509 -newkey rsa:1024 -sha1 -nodes -days 3650 -subj "/CN=ipcam" -keyout "$DIR/weak.key" -out "$DIR/weak.crt" 2>/dev/null
cat "$DIR/weak.crt" "$DIR/weak.key" >"$DIR/weak.pem"
chmod 644 "$DIR/weak.pem" "$DIR/users"
cat >"$DIR/lighttpd.conf" <<CONF
server.modules = ("mod_auth", "mod_authn_file", "mod_openssl")
server.document-root = "$DIR/www"
server.bind = "$IP"
server.port = 80
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
auth.backend = "plain"
auth.backend.plain.userfile = "$DIR/users"
auth.require = ("/" => ("method" => "basic", "realm" => "ipcam", "require" => "valid-user"))
\$SERVER["socket"] == "$IP:8443" {
    ssl.engine = "enable"
    ssl.pemfile = "$DIR/weak.pem"
    ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1", "CipherString" => "DEFAULT@SECLEVEL=0")
}
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

# mqtt: anonymous, with retained messages on three topics
cat >"$DIR/mosquitto.conf" <<CONF
listener 1883 $IP
allow_anonymous true
persistence false
CONF
start /usr/sbin/mosquitto -c "$DIR/mosquitto.conf"

# snmp: public read, private write (sysLocation is left unset so it is writable)
mkdir -p "$DIR/snmp"
cat >"$DIR/snmpd.conf" <<CONF
rocommunity public
rwcommunity private
sysDescr IPCAM firmware 1.0 (lab)
CONF
SNMP_PERSISTENT_DIR="$DIR/snmp" start /usr/sbin/snmpd -f -Lf "$DIR/snmpd.log" -C -c "$DIR/snmpd.conf" -p "$DIR/snmpd.pid" "udp:$IP:161"

# upnp igd + nat-pmp: miniupnpd with an internal WAN interface that exists only here
ip link add wan0 type veth peer name wan1
ip addr add 192.0.2.2/24 dev wan0
ip link set wan0 up
ip link set wan1 up
cat >"$DIR/miniupnpd.conf" <<CONF
ext_ifname=wan0
listening_ip=eth0
port=5000
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
allow 1024-65535 $IP/16 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
start /usr/sbin/miniupnpd -d -f "$DIR/miniupnpd.conf"

# rtsp: the live stream without authentication
rtsp 554 live none

wait_port tcp 23
wait_port tcp 21
wait_port tcp 80
wait_port tcp 8443
wait_port tcp 1883
wait_port udp 161
wait_port tcp 5000
wait_port tcp 554
for t in cam/1/status cam/1/motion cam/1/temperature; do
    mosquitto_pub -h "$IP" -t "$t" -m "lab" -r
done
