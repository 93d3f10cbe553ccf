# A hardened device: OpenSSH with a strong password only, HTTPS (TLS 1.2+) with a
# CA-signed ECDSA P-256 certificate and Basic auth with a strong password, an MQTT broker
# that requires authentication, and an RTSP stream behind Basic authentication (GStreamer's RTSP
# server), all with the same strong password, and an ADB daemon that requires authorisation. The probe must report no finding at all here.
. "$LAB/common.sh"

account admin 'T4k3-a-L0ng-Rand0m-Pass!' 1000

# ssh: OpenSSH, password auth on, no PAM
ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
cat >"$DIR/sshd_config" <<CONF
ListenAddress $IP
Port 22
HostKey $DIR/ssh_host_ed25519_key
PermitRootLogin no
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PidFile $DIR/sshd.pid
CONF
start /usr/sbin/sshd -D -e -f "$DIR/sshd_config"

# https: a lab CA signs the device certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes -days 30 -subj "/CN=iotrust lab CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=device.lab" -keyout "$DIR/dev.key" -out "$DIR/dev.csr" 2>/dev/null
openssl x509 -req -in "$DIR/dev.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -sha256 -days 30 -out "$DIR/dev.crt" 2>/dev/null
cat "$DIR/dev.crt" "$DIR/dev.key" >"$DIR/dev.pem"
chmod 644 "$DIR/dev.pem"
mkdir -p "$DIR/www"
echo "<html><title>Device</title>ok</html>" >"$DIR/www/index.html"
echo 'admin:T4k3-a-L0ng-Rand0m-Pass!' >"$DIR/users"
chmod 644 "$DIR/users"
cat >"$DIR/lighttpd.conf" <<CONF
server.modules = ("mod_auth", "mod_authn_file", "mod_openssl")
server.document-root = "$DIR/www"
server.bind = "$IP"
server.port = 443
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ("index.html")
ssl.engine = "enable"
ssl.pemfile = "$DIR/dev.pem"
ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2")
auth.backend = "plain"
auth.backend.plain.userfile = "$DIR/users"
auth.require = ("/" => ("method" => "basic", "realm" => "device", "require" => "valid-user"))
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

# mqtt: authentication required
mosquitto_passwd -c -b "$DIR/mosquitto.passwd" admin 'T4k3-a-L0ng-Rand0m-Pass!' >/dev/null 2>&1
chmod 644 "$DIR/mosquitto.passwd"
cat >"$DIR/mosquitto.conf" <<CONF
listener 1883 $IP
allow_anonymous false
password_file $DIR/mosquitto.passwd
persistence false
CONF
start /usr/sbin/mosquitto -c "$DIR/mosquitto.conf"

# rtsp: Basic authentication
rtsp 554 live basic admin 'T4k3-a-L0ng-Rand0m-Pass!'

# adb: a debug bridge that demands the client's key (answers AUTH); a test stand-in
start /usr/bin/python3 "$LAB/endpoints.py" "$IP" adb-auth:5555

wait_port tcp 22
wait_port tcp 443
wait_port tcp 1883
wait_port tcp 554
wait_port tcp 5555
