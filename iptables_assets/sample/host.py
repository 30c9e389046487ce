"""The simulated gateway: its addresses and interfaces, and the log prefixes its firewall rules write."""

HOST_V4 = "10.0.0.1"  # eth0 address (cloud VM behind 1:1 NAT)
HOST_V6 = "2a03:b0c0:0003:00d0:0000:0000:0d4e:5001"  # printed the way %pI6 prints: uncompressed
ROUTER_V4 = "10.0.0.254"
LAN_NET = "192.168.10."
MAC_WAN = "52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:08:00"  # dst (us) : src (upstream) : ethertype
MAC_WAN6 = "52:54:00:8a:3c:1e:fe:ff:ff:ff:ff:ff:86:dd"
MAC_LAN = "52:54:00:8a:3c:1f:3c:7c:3f:1d:a0:42:08:00"
MAC_MCAST = "01:00:5e:00:00:01:fe:ff:ff:ff:ff:ff:08:00"

# Log prefix -> action. The prefix is written verbatim in front of "IN=".
DROP, BLOCK, AUDIT, ALLOW = "IPTables-Dropped: ", "[UFW BLOCK] ", "[UFW AUDIT] ", "[UFW ALLOW] "
ACTIONS = {DROP: "drop", BLOCK: "drop", AUDIT: "audit", ALLOW: "accept"}
