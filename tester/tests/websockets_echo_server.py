#!/usr/bin/env python3
"""Debian's python3-websockets as an echo server on 127.0.0.1:PORT, a third-party peer for
calibrating the tester: ./course check 03 --server '/usr/bin/python3 tester/tests/websockets_echo_server.py {port}'

Messages up to 16 MiB (the course's limit), no compression; exits 0 on SIGTERM after closing
every connection with 1001.
"""
import asyncio
import signal
import sys

import websockets


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(port):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", port, max_size=16 * 1024 * 1024,
                                compression=None):
        await stop


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
