# A home gateway whose UPnP IGD (the real miniupnpd) listens on its WAN-facing interface as well
# as on its LAN: UPnP control reachable from outside (UPnProxy, CallStranger class).
. "$LAB/common.sh"
upnp_gateway eth0 eth1
