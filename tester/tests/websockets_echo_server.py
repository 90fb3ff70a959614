#!/usr/bin/env python3
"""Debian's python3-websockets as an echo server on 127.0.0.1:PORT, a third-party peer for
calibrating the tester: ./course check 03 --server '/usr/bin/python3 tester/tests/websockets_echo_server.py {port}'

Messages up to 16 MiB (the course's limit, or --max-size BYTES); no compression, or with
--deflate its default permessage-deflate (RFC 7692), for stage 08's compression group; exits 0 on
SIGTERM after closing every connection with 1001.
"""
import argparse
import asyncio
import signal

import websockets


async def echo(websocket):
    async for message in websocket:
        await websocket.send(message)


async def main(args):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", args.port, max_size=args.max_size,
                                compression="deflate" if args.deflate else None):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--max-size", type=int, default=16 * 1024 * 1024)
    asyncio.run(main(parser.parse_args()))
