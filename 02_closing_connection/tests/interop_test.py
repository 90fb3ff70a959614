"""Interop test: Python's websockets (Debian's python3-websockets) against the stage's server:
closes from the client echoed with the same code, and a server shutdown seen as 1001.

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
        self.server = harness.start_server()

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, "the server exits with 0 on SIGTERM")

    def test_close_with_a_code_is_echoed_and_clean(self):
        async def scenario():
            ws = await websockets.connect(self.server.ws_url, open_timeout=5, close_timeout=5)
            await ws.close(code=1000, reason="bye")
            self.assertEqual(ws.close_code, 1000)
            self.assertEqual(ws.close_reason, "")

        asyncio.run(asyncio.wait_for(scenario(), 20))
        self.server.wait_for_line(r'^#1 closed 1000 "bye" \(initiated by client\)$')

    def test_shutdown_is_seen_as_1001(self):
        async def scenario():
            ws = await websockets.connect(self.server.ws_url, open_timeout=5, close_timeout=5)
            for _ in range(3):
                await asyncio.wait_for(ws.recv(), 5)  # the greetings
            stopping = asyncio.create_task(asyncio.to_thread(self.server.stop))
            with self.assertRaises(websockets.ConnectionClosedOK):
                await asyncio.wait_for(ws.recv(), 10)
            self.assertEqual(ws.close_code, 1001)
            self.assertEqual(ws.close_reason, "server shutting down")
            self.assertEqual(await stopping, 0)

        asyncio.run(asyncio.wait_for(scenario(), 30))


if __name__ == "__main__":
    unittest.main()
