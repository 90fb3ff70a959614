"""An echo server built on Python's websockets (Debian's python3-websockets 10.4, asyncio API),
the peer that tests/interop_client_test.cpp dials with our Client.

Listens on 127.0.0.1 on a free port, prints `listening on ws://127.0.0.1:PORT` (flushed) once it
accepts connections, sends every message back with the same type and payload, and exits with
code 0 on SIGTERM or SIGINT, closing open connections with 1001 (going away).
Run it with /usr/bin/python3, where python3-websockets is installed.
"""

import asyncio
import signal
import sys

import websockets

MAX_SIZE = 16 * 1024 * 1024
"""The largest message accepted, the same as our server's default (websockets' own is 1 MiB)."""


async def echo(websocket):
    """Sends back every message: str as a text message, bytes as a binary one."""
    async for message in websocket:
        await websocket.send(message)


async def main():
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # compression=None: our client offers no extension, and saying so keeps the handshake plain
    # whoever connects.
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=MAX_SIZE,
                                compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on ws://127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
