"""Interop test: Python's websockets client (Debian's python3-websockets 10.4, asyncio API)
against the stage's echo server.

Text with multi-byte UTF-8, binary with every byte value and of 1 MiB come back byte-exact
(RFC 6455 §5.6), a ping is answered with its own payload (§5.5.2), and a close with 1000 ends
cleanly with the code echoed (§5.5.1, §7). Run with Debian's /usr/bin/python3 and
WS_SERVER=/path/to/server; exits 77 (skipped) when python3-websockets is missing, unless
WS_REQUIRE_E2E=1.
"""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e",
                                "lib"))
import harness  # pylint: disable=wrong-import-position

websockets = harness.require_websockets()

STEP_TIMEOUT = 5.0
"""The longest any single step (connect, an echo, a pong, the close) may take, in seconds."""


class EchoServerInterop(unittest.IsolatedAsyncioTestCase):
    """Each test gets a server of its own and a websockets client connected to it."""

    async def asyncSetUp(self):
        self.server = harness.start_server()
        self.ws = await asyncio.wait_for(
            websockets.connect(self.server.ws_url, max_size=2 * 1024 * 1024, compression=None),
            STEP_TIMEOUT)

    async def asyncTearDown(self):
        await self.ws.close()
        self.assertEqual(self.server.stop(), 0, "the server exits with 0 on SIGTERM")

    async def echo(self, message):
        await self.ws.send(message)
        return await asyncio.wait_for(self.ws.recv(), STEP_TIMEOUT)

    async def test_text_with_multi_byte_utf8_is_echoed_exactly(self):
        # Two-, three- and four-byte sequences, and the empty message. str comes back as str,
        # so the type (text) was kept.
        for text in ["héllo wörld", "你好，世界", "😀 🌍 𐍈", ""]:
            self.assertEqual(await self.echo(text), text)

    async def test_binary_with_every_byte_value_is_echoed_exactly(self):
        every_byte = bytes(range(256))
        self.assertEqual(await self.echo(every_byte), every_byte)

    async def test_a_1_mib_binary_message_is_echoed_exactly(self):
        big = bytes((i * 31) & 0xFF for i in range(1024 * 1024))
        reply = await self.echo(big)
        self.assertIsInstance(reply, bytes)
        self.assertEqual(len(reply), len(big))
        self.assertTrue(reply == big, "the 1 MiB echo differs")

    async def test_a_ping_is_answered_with_a_pong_carrying_the_same_payload(self):
        # websockets resolves the waiter only for a pong whose payload matches this ping's.
        pong_waiter = await self.ws.ping(b"are you there?")
        await asyncio.wait_for(pong_waiter, STEP_TIMEOUT)

    async def test_a_close_with_1000_ends_cleanly_with_1000_echoed(self):
        await asyncio.wait_for(self.ws.close(code=1000, reason="bye"), STEP_TIMEOUT)
        # Close frames went both ways: ours first, then the server's echo of our code.
        self.assertIsNotNone(self.ws.close_sent)
        self.assertIsNotNone(self.ws.close_rcvd)
        self.assertTrue(self.ws.close_rcvd_then_sent is False, "we closed first")
        self.assertEqual(self.ws.close_sent.code, 1000)
        self.assertEqual(self.ws.close_rcvd.code, 1000)
        self.assertEqual(self.ws.close_code, 1000)
        self.server.wait_for_line(r'^#1 closed 1000 "bye" \(initiated by client\)$', STEP_TIMEOUT)


if __name__ == "__main__":
    harness.start_watchdog()
    unittest.main()
