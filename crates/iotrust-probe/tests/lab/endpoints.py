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
  ssh1:PORT      an SSH server that speaks only protocol 1 (sends its `SSH-1.5-` version
                 line, as pre-2001 embedded SSH stacks do; no packaged server speaks it)
  ssdp:PORT      a UPnP media renderer answering unicast M-SEARCH (UDP), not a gateway
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


def ssh1_public_key_packet():
    """The first packet an SSH 1 server sends after the version lines (SSH_SMSG_PUBLIC_KEY,
    type 2): an anti-spoofing cookie, a server key and a host key (small dummy moduli: nothing
    is ever encrypted with them), the protocol flags and the cipher and authentication masks.
    Framed as protocol 1 frames packets: length, 8 - length % 8 bytes of padding, type, data,
    CRC-32 over padding, type and data."""
    import zlib

    def mpint(bits, value):
        raw = value.to_bytes((bits + 7) // 8, "big")
        return struct.pack(">H", bits) + raw

    # cookie, then the server key's size, exponent and modulus
    data = bytes(8) + struct.pack(">I", 768) + mpint(17, 65537) + mpint(768, (1 << 767) | 1)
    data += struct.pack(">I", 1024) + mpint(17, 65537) + mpint(1024, (1 << 1023) | 1)
    data += struct.pack(">III", 0, 1 << 3, 1 << 2)  # flags; 3DES; password authentication
    body = bytes([2]) + data
    length = len(body) + 4
    padded = bytes(8 - length % 8) + body
    return struct.pack(">I", length) + padded + struct.pack(">I", zlib.crc32(padded))


def ssh1_handler():
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(5)
            try:
                self.request.sendall(b"SSH-1.5-OpenSSH_2.1.1\n")
                line = self.request.recv(256)  # the client's version line
                if line.startswith(b"SSH-1."):
                    self.request.sendall(ssh1_public_key_packet())
                    self.request.recv(256)
            except OSError:
                pass

    return H


def ssdp_handler(addr):
    class H(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            if not data.startswith(b"M-SEARCH * HTTP/1.1") or b"ssdp:discover" not in data:
                return
            answer = ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
                      f"LOCATION: http://{addr}:49152/renderer.xml\r\n"
                      "SERVER: Linux/5.10 UPnP/1.0 lab-renderer/1.0\r\n"
                      "ST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
                      "USN: uuid:5f9ec1b3-lab-renderer::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n")
            sock.sendto(answer.encode(), self.client_address)

    return H


class UDP(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True


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
        elif kind == "ssh1":
            servers.append(TCP((addr, port), ssh1_handler()))
        elif kind == "ssdp":
            servers.append(UDP((addr, port), ssdp_handler(addr)))
        else:
            s = ThreadingHTTPServer((addr, port), http_handler(kind))
            s.daemon_threads = True
            servers.append(s)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
