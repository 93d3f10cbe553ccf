# A network media renderer of the early 2000s kind: its management shell still speaks only SSH
# protocol 1, and it answers SSDP discovery sent straight to it (a reflection source, not a
# gateway). Both are test stand-ins (endpoints.py): no Debian package speaks SSH 1, and
# MiniDLNA does not answer a unicast M-SEARCH.
. "$LAB/common.sh"

start /usr/bin/python3 "$LAB/endpoints.py" "$IP" ssh1:22 ssdp:1900

wait_port tcp 22
