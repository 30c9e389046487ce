"""What internet background noise looks like: source networks, popular ports, TCP/IP header values."""

from __future__ import annotations

import itertools
import zlib

# Limits the planted data respects (the parser's scan rule is "more than 50 distinct ports").
SCAN_THRESHOLD = 50
MAX_BG_PORTS_PER_DAY = 20
MAX_BG_PORTS_TOTAL = 40

# 42 real-world, publicly routed first octets (none holds private, CGN, test-net or multicast space).
PUBLIC_OCTETS = (
    1, 5, 14, 27, 31, 36, 37, 45, 46, 49, 58, 59, 61, 77, 80, 85, 89, 94, 103, 104, 112,
    118, 121, 122, 123, 125, 162, 167, 177, 180, 183, 185, 189, 190, 193, 200, 201, 211, 212, 218, 220, 222,
)
# Heavier weights for the networks that dominate real drop logs.
OCTET_CUM = tuple(itertools.accumulate(3 if o in (45, 61, 89, 103, 112, 162, 167, 185, 193, 218, 222) else 1
                                       for o in PUBLIC_OCTETS))
SCANNER_OCTETS = (45, 71, 87, 92, 147, 152, 154, 170, 176, 178, 179, 194, 204, 205, 206)
PUBLIC_V6_PREFIXES = ("2a01:04f8", "240e:0390", "2001:41d0", "2a02:4780", "2604:a880", "2400:8902", "2a0e:97c0")

# (proto, port): weight — the skewed head of destination ports; the tail is uniform 1-65535.
POPULAR_PORTS = {
    ("TCP", 22): 30, ("TCP", 23): 20, ("TCP", 445): 14, ("TCP", 80): 10, ("TCP", 443): 7,
    ("TCP", 3389): 10, ("TCP", 8080): 6, ("TCP", 25): 4, ("TCP", 5900): 3, ("TCP", 1433): 4,
    ("TCP", 3306): 4, ("TCP", 21): 3, ("TCP", 2323): 3, ("TCP", 8443): 2, ("TCP", 6379): 3,
    ("TCP", 5432): 2, ("TCP", 81): 2, ("TCP", 8088): 2, ("TCP", 7547): 2, ("TCP", 5555): 2,
    ("TCP", 37215): 2, ("TCP", 52869): 1, ("TCP", 9200): 1, ("TCP", 27017): 1, ("TCP", 139): 2,
    ("TCP", 135): 2, ("TCP", 110): 1, ("TCP", 143): 1, ("TCP", 993): 1, ("TCP", 587): 1,
    ("TCP", 1723): 1, ("TCP", 8000): 2, ("TCP", 8888): 1, ("TCP", 60001): 1, ("TCP", 9000): 1,
    ("TCP", 10000): 1, ("TCP", 2375): 1, ("TCP", 6443): 1, ("TCP", 5985): 1, ("TCP", 4444): 1,
    ("UDP", 53): 3, ("UDP", 123): 3, ("UDP", 161): 2, ("UDP", 1900): 2, ("UDP", 5060): 3,
    ("UDP", 137): 2, ("UDP", 19): 1, ("UDP", 389): 1, ("UDP", 11211): 1, ("UDP", 500): 1, ("UDP", 3478): 1,
}
POPULAR_KEYS = tuple(POPULAR_PORTS)
POPULAR_CUM = tuple(itertools.accumulate(POPULAR_PORTS.values()))

# TCP flag sets in the kernel's print order (CWR ECE URG ACK PSH RST SYN FIN); "" is a NULL scan.
TCP_FLAGS = {"SYN": 88, "ACK": 2, "FIN": 1, "ACK FIN": 2, "ACK RST": 2, "ACK SYN": 1, "RST": 1,
             "ACK PSH": 1, "": 1, "URG PSH FIN": 1}
FLAG_KEYS, FLAG_CUM = tuple(TCP_FLAGS), tuple(itertools.accumulate(TCP_FLAGS.values()))
TCP_WINDOWS = (1024, 65535, 29200, 14600, 64240, 8192, 5840)
SYN_LENGTHS, ACK_LENGTHS = (40, 44, 52, 60), (40, 52)
UDP_LENGTHS = tuple(28 + n for n in (0, 8, 20, 48, 62, 100, 372))
BASE_TTLS = (64, 128, 255)
TOS_BYTES = (0x00,) * 30 + (0x20, 0x28, 0x08, 0xB8)
PROFILE_SIZES = tuple(range(1, MAX_BG_PORTS_TOTAL + 1))
PROFILE_CUM = tuple(itertools.accumulate(k ** -1.8 for k in PROFILE_SIZES))


def path_ttl(src: str) -> int:
    """A stable TTL per source (initial TTL of its OS minus its hop count), like real traffic."""
    h = zlib.crc32(src.encode())
    return BASE_TTLS[h % 3] - 4 - (h >> 8) % 24
