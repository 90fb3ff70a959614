"""Interop test: Python's websockets (Debian's python3-websockets) as chat clients: log in over
HTTP, connect with the one-time password, exchange messages in a room, and see a refused OTP.

Run with Debian's interpreter: /usr/bin/python3 interop_test.py (env WS_SERVER=/path/to/server).
Exit code 77 means skipped (dependencies missing and WS_REQUIRE_E2E unset).
"""

import asyncio
import json
import os
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e", "lib"))
import harness  # noqa: E402  pylint: disable=wrong-import-position

websockets = harness.require_websockets()
harness.start_watchdog()

PASSWORDS = {"alice": "wonderland", "bob": "builder"}


def login(server, username):
    request = urllib.request.Request(
        server.url + "login", method="POST",
        data=json.dumps({"username": username, "password": PASSWORDS[username]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["otp"]


async def next_event(ws, wanted):
    """The payload of the next event of type `wanted`, skipping others."""
    for _ in range(1000):
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event["type"] == wanted:
            return event["payload"]
    raise AssertionError(f"no {wanted} event")


class PythonChatTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server()

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, "the server exits with 0 on SIGTERM")

    def test_two_python_clients_chat(self):
        async def scenario():
            alice = await websockets.connect(self.server.ws_url + "ws?otp=" + login(self.server, "alice"),
                                             open_timeout=5, close_timeout=5)
            # The server joins a member to its room just after the 101: once alice has her
            # room_changed she is in the room, and bob, connecting after, sees her there.
            self.assertEqual((await next_event(alice, "room_changed"))["room"], "general")
            bob = await websockets.connect(self.server.ws_url + "ws?otp=" + login(self.server, "bob"),
                                           open_timeout=5, close_timeout=5)
            self.assertEqual((await next_event(bob, "room_changed"))["members"], ["alice", "bob"])
            await alice.send(json.dumps({"type": "send_message", "payload": {"message": "héllo 🐍"}}))
            message = await next_event(bob, "new_message")
            self.assertEqual((message["from"], message["message"], message["room"]),
                             ("alice", "héllo 🐍", "general"))
            await bob.close(code=1000)
            self.assertEqual(bob.close_code, 1000)
            self.assertEqual(await next_event(alice, "presence"),
                             {"room": "general", "user": "bob", "action": "joined"})
            self.assertEqual((await next_event(alice, "presence"))["action"], "left")
            await alice.close()

        asyncio.run(asyncio.wait_for(scenario(), 30))

    def test_a_used_otp_is_refused_before_the_upgrade(self):
        async def scenario():
            otp = login(self.server, "alice")
            first = await websockets.connect(self.server.ws_url + "ws?otp=" + otp, open_timeout=5)
            with self.assertRaises(websockets.InvalidStatusCode) as refused:
                await websockets.connect(self.server.ws_url + "ws?otp=" + otp, open_timeout=5)
            self.assertEqual(refused.exception.status_code, 401)
            await first.close()

        asyncio.run(asyncio.wait_for(scenario(), 30))


if __name__ == "__main__":
    unittest.main()
