# A sensor hub that answers CoAP resource discovery (`/.well-known/core`) from anyone: libcoap's
# CoAP server (Debian's libcoap3-bin), without DTLS or any access control; and a status page
# over TLS (lighttpd, Debian's defaults: TLS 1.2 and 1.3, ECDHE with AEAD) whose self-signed
# certificate expired yesterday, as certificates burnt into firmware do.
. "$LAB/common.sh"

start /usr/bin/coap-server-notls -A "$IP" -p 5683

# openssl req cannot date a certificate in the past; Python's cryptography can.
python3 -W ignore - "$DIR" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sensorhub.lab")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now - datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
with open(sys.argv[1] + "/hub.pem", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
chmod 644 "$DIR/hub.pem"
mkdir -p "$DIR/www"
echo "<html><title>Sensor hub</title>3 sensors online</html>" >"$DIR/www/index.html"
cat >"$DIR/lighttpd.conf" <<CONF
server.modules = ("mod_openssl")
server.document-root = "$DIR/www"
server.bind = "$IP"
server.port = 443
server.username = "www-data"
server.groupname = "www-data"
index-file.names = ("index.html")
ssl.engine = "enable"
ssl.pemfile = "$DIR/hub.pem"
CONF
start /usr/sbin/lighttpd -D -f "$DIR/lighttpd.conf"

wait_port udp 5683
wait_port tcp 443
