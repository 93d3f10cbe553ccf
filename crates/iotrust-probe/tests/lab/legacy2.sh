# A device whose SSH and TLS stacks predate today's countermeasures, as old firmware's do:
# AsyncSSH 2.14.1 offering ChaCha20-Poly1305 and an encrypt-then-MAC mode without strict key
# exchange (Terrapin, CVE-2023-48795) and 3des-cbc, and tlslite-ng accepting only RC4 and 3DES
# suites with RSA key transport, TLS 1.0 to 1.2 (legacy2-servers.py). Debian's OpenSSH and
# OpenSSL cannot be configured to offer these; both stacks come from PyPI (scripts/test.sh
# installs them). A strong-password-only SSH and a CA-signed certificate, so only the
# algorithms are weak.
. "$LAB/common.sh"

ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh_host_ed25519_key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes -days 30 -subj "/CN=iotrust lab CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=legacy2.lab" -keyout "$DIR/dev.key" -out "$DIR/dev.csr" 2>/dev/null
openssl x509 -req -in "$DIR/dev.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial -sha256 -days 30 -out "$DIR/dev.crt" 2>/dev/null
# tlslite-ng reads PKCS#1 or PKCS#8 PEM keys
start python3 -W ignore "$LAB/legacy2-servers.py" ssh "$IP" 22 "$DIR/ssh_host_ed25519_key"
start python3 -W ignore "$LAB/legacy2-servers.py" tls "$IP" 443 "$DIR/dev.crt" "$DIR/dev.key"

wait_port tcp 22
wait_port tcp 443
