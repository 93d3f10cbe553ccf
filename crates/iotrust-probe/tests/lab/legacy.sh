# A device whose daemons are configured with legacy algorithms, with a strong password and a
# CA-signed certificate so that only the configuration is weak: OpenSSH offering SHA-1 and
# 1024-bit key exchange, `ssh-rsa` signatures, 3DES and CBC ciphers and MD5 and truncated
# MACs (all added to the defaults, as old firmware does), and lighttpd over TLS 1.2 only (no
# TLS 1.3, whose suites are all AEAD) accepting
# only RSA key transport with CBC suites and one without encryption (NULL-SHA; Debian's OpenSSL
# 3.0 has no 3DES, RC4 or DES suites left to configure).
. "$LAB/common.sh"

account admin 'T4k3-a-L0ng-Rand0m-Pass!' 1000

ssh-keygen -q -t rsa -b 2048 -N '' -f "$DIR/ssh_host_rsa_key"
cat >"$DIR/sshd_config" <<CONF
ListenAddress $IP
Port 22
HostKey $DIR/ssh_host_rsa_key
PermitRootLogin no
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
PidFile $DIR/sshd.pid
KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1
HostKeyAlgorithms +ssh-rsa
Ciphers +3des-cbc,aes128-cbc,aes256-cbc
MACs +hmac-md5,hmac-sha1-96
CONF
start /usr/sbin/sshd -D -e -f "$DIR/sshd_config"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes -days 30 -subj "/CN=iotrust lab CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=legacy.lab" -keyout "$DIR/dev.key" -out "$DIR/dev.csr" 2>/dev/null
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
ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2", "MaxProtocol" => "TLSv1.2")
# ssl.cipher-list, not CipherString: lighttpd drops eNULL suites from a CipherString.
ssl.cipher-list = "AES128-SHA:AES256-SHA256:NULL-SHA@SECLEVEL=0"
auth.backend = "plain"
auth.backend.plain.userfile = "$DIR/users"
auth.require = ("/" => ("method" => "basic", "realm" => "device", "require" => "valid-user"))
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

wait_port tcp 22
wait_port tcp 443
