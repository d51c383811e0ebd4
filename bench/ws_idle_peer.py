#!/usr/bin/env python3
"""ws_idle_peer.py — a small WebSocket server for bench/ws.sh that holds many idle
sessions cheaply: plain asyncio protocols (no websockets library), the RFC 6455
handshake by hand, frames read only to answer a close.  Loopback only.

Usage: ws_idle_peer.py PORT_FILE   (the port is written there once it listens)
GET /__stats (no upgrade) answers {"open": N, "sessions": N} as JSON.  Runs until SIGTERM.
"""
import asyncio
import base64
import hashlib
import json
import os
import signal
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STATS = {"open": 0, "sessions": 0}


class Peer(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.ws = False

    def data_received(self, data):
        if self.ws:
            # The only frame answered: a close (opcode 8) gets a close back.
            if data and data[0] & 0x0F == 8:
                self.t.write(b"\x88\x02\x03\xe8")
                self.t.close()
            return
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1").split("\r\n")
        fields = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        key = fields.get("sec-websocket-key")
        if key is None:
            body = json.dumps(STATS).encode()
            self.t.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            self.t.close()
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        self.t.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.ws = True
        self.buf = b""
        STATS["open"] += 1
        STATS["sessions"] += 1

    def connection_lost(self, exc):
        if self.ws:
            STATS["open"] -= 1


async def main(port_file):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_server(Peer, "127.0.0.1", 0, backlog=4096)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
