#!/usr/bin/python3
"""A WebSocket peer for tests/e2e/test_serve_ws.sh: a real client (python3-websockets,
Debian's package, so run by /usr/bin/python3) driving `brunt serve`'s /ws/ endpoints.

  ws_serve_peer.py echo BASE N M        N sessions on /ws/echo, M messages each (text, binary,
                                  and every 4th fragmented); each echo must equal what was
                                  sent; a ping per session; a normal close (1000)
  ws_serve_peer.py room BASE ROOM N M   N members of /ws/room/ROOM each send M messages; every
                                  member must receive all N*M, each sender's in order
  ws_serve_peer.py idle BASE N PID      N idle sessions held open: prints the server's RSS
                                  growth per session (KiB) from /proc/PID/status and the
                                  sessions /__stats says are open meanwhile
  ws_serve_peer.py slow BASE ROOM K     a member of ROOM that never reads, and a sender of K
                                  messages of 1 MiB that reads its own: the server must
                                  drop (reset) the slow member, not the room
  ws_serve_peer.py raw HOST PORT CASE   a hand-made client: CASE unmasked (expects close 1002),
                                  toolarge (expects 1009), badutf8 (1007), badclose (1002)

BASE is ws://HOST:PORT or wss://HOST:PORT (then $WS_CAFILE is the CA to trust).
Prints one JSON line of what it did (the test compares it with /__stats) and exits 1 with
a line on stderr when the server answered wrong.  Every wait is bounded.
"""
import asyncio
import base64
import json
import os
import resource
import socket
import ssl
import struct
import sys
import urllib.request

import websockets

TIMEOUT = 20


def die(msg):
    print("ws_serve_peer: " + msg, file=sys.stderr)
    sys.exit(1)


def opts(base):
    o = dict(compression=None, max_size=2 ** 21, ping_interval=None, open_timeout=TIMEOUT,
             close_timeout=TIMEOUT)
    if base.startswith("wss://"):
        o["ssl"] = ssl.create_default_context(cafile=os.environ["WS_CAFILE"])
    return o


def server_stats(base):
    """GET /__stats of the server behind base (ws:// -> http://, wss:// -> https://)."""
    url = "http" + base[2:] + "/__stats"
    ctx = ssl.create_default_context(cafile=os.environ["WS_CAFILE"]) if base.startswith(
        "wss://") else None
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=ctx) as r:
        return json.load(r)


async def echo(base, n, m):
    out = {"sessions": n, "messages": 0, "bytes": 0, "fragmented": 0, "pings": 0}

    async def one(i):
        async with websockets.connect(base + "/ws/echo", **opts(base)) as ws:
            for j in range(m):
                if j % 3 == 0:
                    msg = bytes((i + j + k) % 256 for k in range(1 + (j * 37) % 300))
                else:
                    msg = "session %d message %d: h\u00e9llo \u2713 %s" % (i, j, "x" * (j % 50))
                if j % 4 == 3:
                    # Three fragments (websockets sends an iterable as one fragmented message).
                    parts = [msg[: len(msg) // 3], msg[len(msg) // 3: 2 * len(msg) // 3],
                             msg[2 * len(msg) // 3:]]
                    await ws.send(parts)
                    out["fragmented"] += 1
                else:
                    await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
                if got != msg:
                    die("session %d message %d: echo %r != sent %r" % (i, j, got[:40], msg[:40]))
                out["messages"] += 1
                out["bytes"] += len(msg.encode() if isinstance(msg, str) else msg)
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, TIMEOUT)
            out["pings"] += 1
            await ws.close(1000, "done")
            if ws.close_code != 1000:
                die("session %d: the server closed with %s, expected 1000" % (i, ws.close_code))

    await asyncio.gather(*(one(i) for i in range(n)))
    print(json.dumps(out))


async def room(base, name, n, m):
    url = "%s/ws/room/%s" % (base, name)
    members = [await websockets.connect(url, **opts(base)) for _ in range(n)]
    # Every 101 has arrived, so every member is in the room before anyone sends.
    got = [[] for _ in range(n)]

    async def reader(i):
        ws = members[i]
        while len(got[i]) < n * m:
            got[i].append(await asyncio.wait_for(ws.recv(), TIMEOUT))

    async def sender(i):
        for j in range(m):
            await members[i].send("%d:%d" % (i, j))

    await asyncio.gather(*(reader(i) for i in range(n)), *(sender(i) for i in range(n)))
    want = sorted("%d:%d" % (i, j) for i in range(n) for j in range(m))
    for i in range(n):
        if sorted(got[i]) != want:
            die("member %d received %d messages, not the room's %d" % (i, len(got[i]), n * m))
        for s in range(n):
            seq = [int(x.split(":")[1]) for x in got[i] if x.split(":")[0] == str(s)]
            if seq != list(range(m)):
                die("member %d saw sender %d's messages out of order" % (i, s))
    for ws in members:
        await ws.close()
    print(json.dumps({"members": n, "sent": n * m, "delivered": n * n * m}))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    die("no VmRSS for pid %d" % pid)


async def idle(base, n, pid):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 64), hard))
    # Warm up: the first session touches the thread's scratch buffers.
    first = await websockets.connect(base + "/ws/echo", **opts(base))
    await first.send("warm")
    await asyncio.wait_for(first.recv(), TIMEOUT)
    before = rss_kib(pid)
    conns = []
    for k in range(0, n, 100):
        conns += await asyncio.gather(*(websockets.connect(base + "/ws/echo", **opts(base))
                                        for _ in range(min(100, n - k))))
    # One round trip on the last session: the server has handled every upgrade before.
    await conns[-1].send("last")
    await asyncio.wait_for(conns[-1].recv(), TIMEOUT)
    after = rss_kib(pid)
    held = (await asyncio.get_running_loop().run_in_executor(None, server_stats, base))
    print(json.dumps({"sessions": n + 1, "rss_before_kib": before, "rss_after_kib": after,
                      "kib_per_session": (after - before) / n,
                      "server_open": held["websocket"]["sessions"]["open"]}))
    await asyncio.gather(*(c.close() for c in conns + [first]))


async def slow(base, name, k):
    host, port = base.split("//")[1].rsplit(":", 1)
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # little room in the kernel
    lazy.settimeout(TIMEOUT)
    lazy.connect((host, int(port)))
    upgrade(lazy, host, int(port), "/ws/room/" + name)
    async with websockets.connect("%s/ws/room/%s" % (base, name), **opts(base)) as ws:
        for j in range(k):
            msg = bytes([j % 256]) * (2 ** 20 - 64)
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if got != msg:
                die("message %d: the sender's own copy differs" % j)
    # The lazy member was reset: reading ends in ECONNRESET (after what the kernel kept).
    reset = False
    try:
        while lazy.recv(65536):
            pass
    except ConnectionResetError:
        reset = True
    except socket.timeout:
        die("the slow member was neither reset nor closed")
    print(json.dumps({"sent": k, "slow_member_reset": reset}))


def upgrade(s, host, port, path):
    """Sends an upgrade on socket s and reads the 101; returns the bytes after it."""
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (path, host, port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            die("the server closed during the upgrade")
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        die("the upgrade got %r" % head[:40])
    return buf


def raw(host, port, case):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    buf = upgrade(s, host, port, "/ws/echo")

    def frame(op, payload, mask=True, fin=True):
        b0 = (0x80 if fin else 0) | op
        n = len(payload)
        hdr = bytes([b0]) + (bytes([(0x80 if mask else 0) | n]) if n < 126 else
                             bytes([(0x80 if mask else 0) | 127]) + struct.pack(">Q", n))
        if not mask:
            return hdr + payload
        mk = os.urandom(4)
        return hdr + mk + bytes(c ^ mk[i % 4] for i, c in enumerate(payload))

    want = {"unmasked": 1002, "toolarge": 1009, "badutf8": 1007, "badclose": 1002}[case]
    if case == "unmasked":
        s.sendall(frame(1, b"not masked", mask=False))
    elif case == "toolarge":
        s.sendall(frame(2, b"", mask=True)[:1] + bytes([0x80 | 127]) + struct.pack(">Q", 2 ** 21) +
                  os.urandom(4))
    elif case == "badutf8":
        s.sendall(frame(1, b"\xff\xfe not text"))
    elif case == "badclose":
        s.sendall(frame(8, struct.pack(">H", 999)))
    while len(buf) < 4:
        d = s.recv(4096)
        if not d:
            die("%s: the server closed without a close frame" % case)
        buf += d
    if buf[0] != 0x88:
        die("%s: expected a close frame, got first byte %#x" % (case, buf[0]))
    code = struct.unpack(">H", buf[2:4])[0]
    if code != want:
        die("%s: close code %d, expected %d" % (case, code, want))
    # The server then ends the connection: EOF, bounded by the socket timeout.
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            die("%s: the server did not close the connection" % case)
        if not d:
            break
    print(json.dumps({"case": case, "close_code": code}))


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "echo":
        asyncio.run(echo(a[1], int(a[2]), int(a[3])))
    elif len(a) == 5 and a[0] == "room":
        asyncio.run(room(a[1], a[2], int(a[3]), int(a[4])))
    elif len(a) == 4 and a[0] == "idle":
        asyncio.run(idle(a[1], int(a[2]), int(a[3])))
    elif len(a) == 4 and a[0] == "slow":
        asyncio.run(slow(a[1], a[2], int(a[3])))
    elif len(a) == 4 and a[0] == "raw":
        raw(a[1], int(a[2]), a[3])
    else:
        die("usage: see the top of " + sys.argv[0])


main()
