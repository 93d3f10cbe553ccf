# A sensor hub that answers CoAP resource discovery (`/.well-known/core`) from anyone: libcoap's
# CoAP server (Debian's libcoap3-bin), without DTLS or any access control.
. "$LAB/common.sh"

start /usr/bin/coap-server-notls -A "$IP" -p 5683

wait_port udp 5683
