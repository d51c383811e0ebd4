#!/usr/bin/env python3
"""ws_peer.py — a WebSocket peer for brunt's end-to-end tests (python3-websockets).

Usage: ws_peer.py PORT_FILE [CERT KEY]

With CERT and KEY it speaks TLS (wss://).

Listens on 127.0.0.1 on a free port (written to PORT_FILE once it listens) and serves:
  /echo        every text or binary message is sent back as it came
  /room        a broadcast room: a message from one member goes to every other member
  /frag        each message comes back in three fragments, after a ping from the server
               (the server counts the pongs it got in "pongs")
  /garbage     after the first message, a frame with a reserved opcode (a protocol error)
  /close4000   the session is closed at once with code 4000 (an abnormal close for brunt)
  /bad         answers the upgrade with 200, not 101
  /badaccept   answers 101 with a wrong Sec-WebSocket-Accept
  /__stats     plain HTTP: JSON counters, the ground truth the tests compare with:
               sessions (upgrades completed), received (messages from clients),
               sent (messages to clients), closed_normal (sessions the client closed with
               1000), open (sessions open now)
It runs until SIGTERM.
"""
import asyncio
import http
import json
import signal
import sys

import websockets

STATS = {"sessions": 0, "received": 0, "sent": 0, "closed_normal": 0, "open": 0, "pongs": 0}
ROOM = set()


async def process_request(path, headers):
    path = path.split("?", 1)[0]
    if path == "/__stats":
        body = json.dumps(STATS).encode()
        return http.HTTPStatus.OK, [("Content-Type", "application/json")], body
    if path == "/bad":
        return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"no upgrade here\n"
    if path == "/badaccept":
        return (
            http.HTTPStatus.SWITCHING_PROTOCOLS,
            [("Upgrade", "websocket"), ("Connection", "Upgrade"),
             ("Sec-WebSocket-Accept", "dGhlIHNhbXBsZSBub25jZQ==")],
            b"",
        )
    return None


async def handler(ws, path):
    path = path.split("?", 1)[0]
    STATS["sessions"] += 1
    STATS["open"] += 1
    try:
        if path == "/close4000":
            await ws.close(code=4000, reason="go away")
            return
        if path == "/room":
            ROOM.add(ws)
        async for msg in ws:
            STATS["received"] += 1
            if path == "/echo":
                await ws.send(msg)
                STATS["sent"] += 1
            elif path == "/frag":
                pong = await ws.ping()
                await asyncio.wait_for(pong, 10)
                STATS["pongs"] += 1
                third = max(1, len(msg) // 3)
                await ws.send(iter([msg[:third], msg[third:2 * third], msg[2 * third:]]))
                STATS["sent"] += 1
            elif path == "/garbage":
                ws.transport.write(b"\x83\x00")  # opcode 3 is reserved
                return
            elif path == "/room":
                for other in list(ROOM):
                    if other is not ws:
                        try:
                            await other.send(msg)
                            STATS["sent"] += 1
                        except websockets.ConnectionClosed:
                            pass
    except websockets.ConnectionClosed:
        pass
    finally:
        ROOM.discard(ws)
        STATS["open"] -= 1
        if ws.close_code == 1000:
            STATS["closed_normal"] += 1


async def main(port_file, cert=None, key=None):
    ctx = None
    if cert is not None:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", 0, process_request=process_request,
                                max_size=2**20, ping_interval=None, ssl=ctx) as server:
        port = server.sockets[0].getsockname()[1]
        with open(port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        import os
        os.rename(port_file + ".tmp", port_file)
        await stop


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
