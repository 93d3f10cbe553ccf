#!/usr/bin/env python3
"""Real protocol stacks that still offer what Debian's OpenSSL and OpenSSH no longer can, for
tests/lab.rs (device `legacy2`), standing in for old device firmware:

  ssh ADDRESS PORT HOSTKEY   AsyncSSH 2.14.1 (PyPI; the last release before the Terrapin fix,
                             so it sends no kex-strict-s-v00@openssh.com) offering
                             chacha20-poly1305@openssh.com, an -etm MAC and 3des-cbc.
                             Password logins are refused for every user.
  tls ADDRESS PORT CERT KEY  tlslite-ng (PyPI, pure-Python TLS) accepting TLS 1.0 to 1.2 with
                             RSA key transport and RC4 or 3DES only. Each connection gets a
                             handshake and a fixed HTTP answer, nothing else.

Neither has any action: nothing a client sends changes anything.
"""
import asyncio
import socket
import sys
import threading


def ssh(address, port, hostkey):
    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

        def password_auth_supported(self):
            return True

        def validate_password(self, username, password):
            return False

    async def main():
        await asyncssh.create_server(
            Server, address, int(port),
            server_host_keys=[hostkey],
            kex_algs=["curve25519-sha256", "diffie-hellman-group14-sha256"],
            encryption_algs=["chacha20-poly1305@openssh.com", "aes128-ctr", "3des-cbc"],
            mac_algs=["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
            compression_algs=["none"],
        )
        await asyncio.Event().wait()

    asyncio.run(main())


def tls(address, port, cert, key):
    from tlslite.api import HandshakeSettings, TLSConnection, X509, X509CertChain, parsePEMKey

    with open(cert) as f:
        chain = X509CertChain([X509().parse(f.read())])
    with open(key) as f:
        private = parsePEMKey(f.read(), private=True)
    settings = HandshakeSettings()
    settings.minVersion = (3, 1)
    settings.maxVersion = (3, 3)
    settings.cipherNames = ["rc4", "3des"]
    settings.macNames = ["sha", "md5"]
    settings.keyExchangeNames = ["rsa"]

    def serve(conn):
        conn.settimeout(10)
        try:
            t = TLSConnection(conn)
            t.handshakeServer(certChain=chain, privateKey=private, settings=settings)
            t.read(max=4096)
            body = b"<html><title>Device</title>ok</html>"
            t.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            t.close()
        except Exception:
            pass
        finally:
            conn.close()

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, int(port)))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    {"ssh": ssh, "tls": tls}[kind](*args)
