#!/usr/bin/python3
"""A camera's RTSP server for the lab: GStreamer's RTSP server (gst-rtsp-server, Debian
package gir1.2-gst-rtsp-server-1.0) publishing a small live test picture (raw RGB over RTP, RFC 4175).

    rtsp-server.py ADDRESS PORT PATH [none | basic USER PASSWORD | digest USER PASSWORD]

`none` serves the stream to anyone; `basic` and `digest` require that one account (RFC 2617
Basic or Digest with MD5) for every request on PATH.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def main(argv):
    if len(argv) < 4 or argv[3] not in ("none", "basic", "digest"):
        print(__doc__, file=sys.stderr)
        return 2
    address, port, path, mode = argv[0], argv[1], argv[2], argv[3]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball"
        " ! video/x-raw,format=RGB,width=64,height=48,framerate=2/1"
        " ! rtpvrawpay name=pay0 pt=96 )"
    )
    factory.set_shared(True)
    if mode != "none":
        user, password = argv[4], argv[5]
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        if mode == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(user, password, token)
        server.set_auth(auth)
        factory.add_role_from_structure(
            Gst.Structure.new_from_string(
                "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
    server.get_mount_points().add_factory("/" + path.lstrip("/"), factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {address}:{port}", file=sys.stderr)
        return 1
    print(f"rtsp://{address}:{port}/{path.lstrip('/')} ({mode})", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
