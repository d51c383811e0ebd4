#!/usr/bin/env python3
"""pcap_latency.py CAPTURE PORT — request-to-answer times seen on the wire.

Reads a tcpdump capture (pcap, microsecond or nanosecond timestamps, Ethernet or Linux
cooked framing as tcpdump writes for the loopback device) of plain HTTP/1.1 on TCP port
PORT and pairs, per connection, each segment that starts a request (payload beginning
with a method) with the next segment that starts an answer ("HTTP/1."). Prints one JSON
object: the number of requests and answers seen and the min, p50, p90 and p99 of answer
time minus request time in microseconds. The times are the kernel's, taken as the segments passed
the loopback device: ground truth for the latency a load generator reports.
"""
import json
import struct
import sys

METHODS = (b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"PATC", b"OPTI")


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            raise SystemExit("pcap_latency: %s: not a pcap file (too short)" % path)
        magic = struct.unpack("<I", head[:4])[0]
        if magic == 0xA1B2C3D4:
            scale = 1000
        elif magic == 0xA1B23C4D:
            scale = 1
        else:
            raise SystemExit("pcap_latency: %s: not a little-endian pcap file" % path)
        link = struct.unpack("<I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack("<IIII", rec)
            data = f.read(incl)
            yield sec * 1_000_000_000 + frac * scale, link, data


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: pcap_latency.py CAPTURE PORT")
    port = int(sys.argv[2])
    pending = {}
    lat = []
    reqs = answers = 0
    for ts, link, d in packets(sys.argv[1]):
        off = {1: 14, 113: 16, 276: 20}.get(link)
        if off is None or len(d) < off + 20:
            continue
        ip = d[off:]
        if ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack(">HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload:
            continue
        if dport == port and payload.startswith(METHODS):
            reqs += 1
            pending.setdefault(sport, []).append(ts)
        elif sport == port and payload.startswith(b"HTTP/1."):
            answers += 1
            q = pending.get(dport)
            if q:
                lat.append(ts - q.pop(0))
    lat.sort()

    def pct(p):
        if not lat:
            return None
        return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] / 1000.0

    print(json.dumps({"requests": reqs, "answers": answers, "paired": len(lat),
                      "min_us": lat[0] / 1000.0 if lat else None,
                      "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99)}))


main()
