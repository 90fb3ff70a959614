"""Interop test: Python's websockets (Debian's python3-websockets), an independent RFC 6455
implementation, against the stage's server: subprotocol negotiation, greetings, a printed message.

Run with Debian's interpreter: /usr/bin/python3 interop_test.py (env WS_SERVER=/path/to/server).
Exit code 77 means skipped (dependencies missing and WS_REQUIRE_E2E unset).
"""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e", "lib"))
import harness  # noqa: E402  pylint: disable=wrong-import-position

websockets = harness.require_websockets()
harness.start_watchdog()


class PythonClientTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server(args=["--protocol", "chat,superchat"])

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, "the server exits with 0 on SIGTERM")

    def test_greetings_and_a_message_the_server_prints(self):
        async def scenario():
            async with websockets.connect(self.server.ws_url, subprotocols=["superchat"],
                                          open_timeout=5) as ws:
                self.assertEqual(ws.subprotocol, "superchat")
                greetings = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
                self.assertTrue(all(isinstance(g, str) for g in greetings))
                self.assertTrue(greetings[0].startswith("Welcome"), greetings[0])
                await ws.send("hello from python")
                await asyncio.to_thread(self.server.wait_for_line,
                                        r"#\d+ received text: hello from python$")

        asyncio.run(asyncio.wait_for(scenario(), 20))


if __name__ == "__main__":
    unittest.main()
