#!/usr/bin/python3
"""MQTT over WebSocket with permessage-deflate (RFC 7692), both ends real.

usage: ws_deflate.py proxy PORT          (in the broker's namespace)
       ws_deflate.py clients HOST PORT   (in the clients' namespace)

mosquitto 2.0.11's built-in libwebsockets never negotiates
permessage-deflate, so a WebSocket server of python3-websockets (10.4,
which offers and accepts permessage-deflate by default) stands in front of
mosquitto: `proxy` accepts WebSocket connections with subprotocol "mqtt"
and joins each to its own TCP connection to mosquitto on 127.0.0.1:1883
(WebSocket binary message -> TCP bytes; each TCP read -> one binary
message). `clients` are python3-websockets clients writing MQTT 3.1.1
bytes themselves:

connection A (client id deflate-a): permessage-deflate with context
  takeover both ways (websockets' defaults: 12-bit windows); SUBSCRIBE
  deflate/# (QoS 2), PUBLISH QoS 0, 1 and 2 with repetitive text payloads
  (the 2nd and later messages compress against the window of the earlier
  ones), one 80,000-byte QoS 1 PUBLISH (> 64 KiB before compression, a few
  KiB on the wire), every delivery acknowledged, DISCONNECT, close 1000.
connection B (client id deflate-b): permessage-deflate with
  client_no_context_takeover and server_no_context_takeover (every message
  compressed on its own); QoS 1 and 2 PUBLISHes to deflate/b, DISCONNECT,
  close 1000.
Prints one line per connection (client id, local port, the extension the
server accepted). Exits non-zero when something is missing.
"""
import asyncio
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return len(x).to_bytes(2, "big") + x


def pkt(first, body):
    return bytes([first]) + varint(len(body)) + body


def text(n, tag):
    line = b"%s deflate payload line %%06d, the same words again and again\n" % tag.encode()
    return b"".join(line % i for i in range(n // len(line) + 1))[:n]


async def proxy(port):
    async def handle(ws):
        r, w = await asyncio.open_connection("127.0.0.1", 1883)

        async def up():
            async for m in ws:
                w.write(m if isinstance(m, bytes) else m.encode())
                await w.drain()
            w.close()

        async def down():
            while True:
                d = await r.read(65536)
                if not d:
                    break
                await ws.send(d)
            await ws.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    async with websockets.serve(handle, "0.0.0.0", port, subprotocols=["mqtt"], max_size=None):
        await asyncio.Future()


class Mqtt:
    """An MQTT reader over one WebSocket: packets out of the binary messages."""

    def __init__(self, ws):
        self.ws, self.buf, self.got = ws, b"", []

    async def packet(self):
        while True:
            if len(self.buf) >= 2:
                n, mult, k = 0, 1, 1
                while k < len(self.buf) and k <= 4:
                    b = self.buf[k]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    k += 1
                    if b & 0x80 == 0:
                        if len(self.buf) >= k + n:
                            p, self.buf = self.buf[:k + n], self.buf[k + n:]
                            return p
                        break
            m = await asyncio.wait_for(self.ws.recv(), 10)
            self.buf += m

    async def expect(self, first, what):
        """The next packet of type `first`; deliveries that come first are
        acknowledged (and counted) on the way."""
        while True:
            p = await self.packet()
            if p[0] == first:
                return p
            if not await self.handle(p):
                sys.exit(f"expected {what}, got {p[:8].hex()}")

    async def handle(self, p):
        """Acknowledges a delivery (PUBLISH, or the broker's PUBREL of one)."""
        t, qos = p[0] >> 4, (p[0] >> 1) & 3
        if t == 6:
            await self.ws.send(pkt(0x70, p[2:4]))
            return True
        if t != 3:
            return False
        k = 1
        while p[k] & 0x80:
            k += 1
        body = p[k + 1:]
        tl = int.from_bytes(body[:2], "big")
        pid = body[2 + tl:4 + tl] if qos else b""
        self.got.append((body[2:2 + tl].decode(), qos, len(body) - 2 - tl - len(pid)))
        if qos == 1:
            await self.ws.send(pkt(0x40, pid))
        elif qos == 2:
            await self.ws.send(pkt(0x50, pid))
        return True

    async def deliveries(self, n):
        """Waits until n PUBLISHes were delivered in all; returns them."""
        while len(self.got) < n:
            p = await self.packet()
            if not await self.handle(p):
                sys.exit(f"unexpected packet {p[:8].hex()}")
        return self.got


async def client(host, port, cid, ext, plan):
    async with websockets.connect(f"ws://{host}:{port}/mqtt", subprotocols=["mqtt"],
                                  extensions=[ext], compression=None, max_size=None) as ws:
        m = Mqtt(ws)
        accepted = ws.response_headers.get("Sec-WebSocket-Extensions")
        if "permessage-deflate" not in (accepted or ""):
            sys.exit(f"{cid}: server did not accept permessage-deflate ({accepted})")
        await ws.send(pkt(0x10, s("MQTT") + bytes([4, 0x02]) + (30).to_bytes(2, "big") + s(cid)))
        await m.expect(0x20, "CONNACK")
        sock = ws.transport.get_extra_info("sockname")
        print(f"{cid} 3.1.1 {sock[1]}->{port} {accepted}", flush=True)
        await plan(ws, m)
        await ws.send(pkt(0xE0, b""))
        await ws.close(1000, "bye")


async def plan_a(ws, m):
    await ws.send(pkt(0x82, (1).to_bytes(2, "big") + s("deflate/#") + b"\x02"))
    await m.expect(0x90, "SUBACK")
    for q, (pid, size) in enumerate([(0, 300), (2, 1200), (3, 2500)]):
        body = s(f"deflate/q{q}") + (pid.to_bytes(2, "big") if q else b"") + text(size, f"q{q}")
        await ws.send(pkt(0x30 | q << 1, body))
        if q == 1:
            await m.expect(0x40, "PUBACK")
        elif q == 2:
            await m.expect(0x50, "PUBREC")
            await ws.send(pkt(0x62, pid.to_bytes(2, "big")))
            await m.expect(0x70, "PUBCOMP")
        got = await m.deliveries(q + 1)
        if got[q][2] != size:
            sys.exit(f"delivery of {size} bytes came back as {got}")
    big = text(80000, "big")
    await ws.send(pkt(0x32, s("deflate/big") + (4).to_bytes(2, "big") + big))
    await m.expect(0x40, "PUBACK")
    got = await m.deliveries(4)
    if got[3][2] != len(big):
        sys.exit(f"the big message came back as {got}")
    await asyncio.sleep(0.3)  # the last PUBCOMP of a delivery reaches the broker


async def plan_b(ws, m):
    await ws.send(pkt(0x32, s("deflate/b") + (1).to_bytes(2, "big") + text(900, "b1")))
    await m.expect(0x40, "PUBACK")
    await ws.send(pkt(0x34, s("deflate/b") + (2).to_bytes(2, "big") + text(900, "b2")))
    await m.expect(0x50, "PUBREC")
    await ws.send(pkt(0x62, (2).to_bytes(2, "big")))
    await m.expect(0x70, "PUBCOMP")


async def clients(host, port):
    await client(host, port, "deflate-a", ClientPerMessageDeflateFactory(client_max_window_bits=True), plan_a)
    await client(host, port, "deflate-b",
                 ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                                client_no_context_takeover=True), plan_b)


if sys.argv[1] == "proxy":
    asyncio.run(proxy(int(sys.argv[2])))
else:
    asyncio.run(clients(sys.argv[2], int(sys.argv[3])))
