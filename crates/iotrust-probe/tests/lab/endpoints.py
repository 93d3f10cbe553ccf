#!/usr/bin/env python3
"""Test stand-ins for the service endpoints later botnets exploit, for tests/lab.rs (no Debian
package serves them). Each answers the probe's harmless requests the way the real service does
and nothing else: it has no actions, so nothing a client sends changes anything.

usage: endpoints.py ADDRESS KIND:PORT ...
  huawei:PORT    Huawei HG532 UPnP control (answers 401 with Digest realm HuaweiHomeGateway)
  miniigd:PORT   Realtek SDK miniigd (serves an IGD description at /picsdesc.xml)
  tr064:PORT     TR-064 (serves a dslforum device description at /tr64desc.xml)
  adb:PORT       adbd accepting connections without authorisation (answers CNXN with CNXN)
  adb-auth:PORT  adbd requiring authorisation (answers CNXN with AUTH)
"""
import socketserver
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IGD = (b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>'
       b'<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>'
       b'<friendlyName>Realtek miniigd stand-in</friendlyName></device></root>')
TR64 = (b'<?xml version="1.0"?><root xmlns="urn:dslforum-org:device-1-0"><device>'
        b'<deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType>'
        b'<friendlyName>TR-064 stand-in</friendlyName></device></root>')


def http_handler(kind):
    class H(BaseHTTPRequestHandler):
        server_version = "stand-in"
        sys_version = ""

        def log_message(self, *args):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            if kind == "huawei":
                self.reply(401, b"", [("WWW-Authenticate",
                                       'Digest realm="HuaweiHomeGateway", nonce="4b5c", qop="auth"')])
            elif kind == "miniigd" and self.path == "/picsdesc.xml":
                self.reply(200, IGD, [("Content-Type", "text/xml")])
            elif kind == "tr064" and self.path == "/tr64desc.xml":
                self.reply(200, TR64, [("Content-Type", "text/xml")])
            else:
                self.reply(404)

        do_HEAD = do_GET

        def do_POST(self):
            # No actions: refuse everything.
            self.reply(405)

    return H


def adb_handler(auth):
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(5)
            try:
                head = self.request.recv(24)
                if len(head) < 24:
                    return
                cmd, a0, a1, n, crc, magic = struct.unpack("<6I", head)
                if cmd != 0x4E584E43 or magic != cmd ^ 0xFFFFFFFF or n > 4096:
                    return  # not ADB: adbd drops the connection
                self.request.recv(n)
                if auth:
                    token = bytes(range(20))
                    msg = struct.pack("<6I", 0x48545541, 1, 0, len(token), sum(token), 0x48545541 ^ 0xFFFFFFFF) + token
                else:
                    banner = b"device::ro.product.name=lab;"
                    msg = struct.pack("<6I", 0x4E584E43, 0x01000000, 4096, len(banner), sum(banner), 0x4E584E43 ^ 0xFFFFFFFF) + banner
                self.request.sendall(msg)
            except OSError:
                pass

    return H


class TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    addr = sys.argv[1]
    servers = []
    for spec in sys.argv[2:]:
        kind, port = spec.split(":")
        port = int(port)
        if kind in ("adb", "adb-auth"):
            servers.append(TCP((addr, port), adb_handler(kind == "adb-auth")))
        else:
            s = ThreadingHTTPServer((addr, port), http_handler(kind))
            s.daemon_threads = True
            servers.append(s)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
