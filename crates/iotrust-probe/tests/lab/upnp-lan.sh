# The same gateway configured correctly: miniupnpd answers on its LAN only, and ignores SSDP and
# closes HTTP from the WAN side (the negative case of `upnp-igd-wan` and `ssdp-wan`).
. "$LAB/common.sh"
upnp_gateway eth0
