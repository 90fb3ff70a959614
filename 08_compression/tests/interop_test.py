"""Interop test: Python's websockets (Debian's python3-websockets) as chat clients: log in over
HTTP, connect with the one-time password, exchange messages in a room, and see a refused OTP.
websockets offers permessage-deflate by default: the chat and the echo endpoint run compressed,
with each of the server's compression modes, and the negotiated answer is checked as the client
received it.

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


# The answer each server mode gives websockets' offer ("permessage-deflate; client_max_window_bits").
AGREED = {
    "no-context-takeover":
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    "context-takeover": "permessage-deflate",
}


class PythonCompressionTest(unittest.TestCase):
    def run_mode(self, mode, scenario):
        server = harness.start_server(args=["--compression", mode, "--echo", "/echo",
                                            "--max-message", "1M"])
        try:
            asyncio.run(asyncio.wait_for(scenario(server), 30))
        finally:
            self.assertEqual(server.stop(), 0, "the server exits with 0 on SIGTERM")

    def test_the_chat_runs_compressed_in_each_mode(self):
        async def scenario(server, mode):
            alice = await websockets.connect(server.ws_url + "ws?otp=" + login(server, "alice"),
                                             open_timeout=5, close_timeout=5)
            self.assertEqual(alice.response_headers["Sec-WebSocket-Extensions"], AGREED[mode])
            await next_event(alice, "room_changed")
            bob = await websockets.connect(server.ws_url + "ws?otp=" + login(server, "bob"),
                                           open_timeout=5, close_timeout=5)
            await next_event(bob, "room_changed")
            # Several alike messages: with context takeover each refers back to the ones before,
            # in both directions; a mistake in either window garbles or fails the connection.
            for i in range(20):
                await alice.send(json.dumps({"type": "send_message",
                                             "payload": {"message": f"message {i} héllo"}}))
                self.assertEqual((await next_event(bob, "new_message"))["message"],
                                 f"message {i} héllo")
            await alice.close()
            await bob.close()

        for mode in AGREED:
            with self.subTest(mode=mode):
                self.run_mode(mode, lambda server, mode=mode: scenario(server, mode))

    def test_the_echo_returns_large_and_fragmented_messages_compressed(self):
        async def scenario(server):
            async with websockets.connect(server.ws_url + "echo", max_size=2 ** 21,
                                          open_timeout=5, close_timeout=5) as ws:
                self.assertIn("permessage-deflate", ws.response_headers["Sec-WebSocket-Extensions"])
                text = "".join(f"line {i}: {'é' * (i % 7)}\n" for i in range(20_000))
                self.assertGreater(len(text.encode()), 300_000)
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
                # websockets compresses a fragmented message as one DEFLATE stream over its frames.
                await ws.send(["fragment one, ", "fragment two, ", "fragment three"])
                self.assertEqual(await ws.recv(), "fragment one, fragment two, fragment three")
                data = os.urandom(200_000)  # incompressible: stored blocks
                await ws.send(data)
                self.assertEqual(await ws.recv(), data)

        for mode in AGREED:
            with self.subTest(mode=mode):
                self.run_mode(mode, scenario)

    def test_a_message_that_inflates_past_the_limit_is_closed_with_1009(self):
        async def scenario(server):
            async with websockets.connect(server.ws_url + "echo", max_size=2 ** 21,
                                          open_timeout=5, close_timeout=5) as ws:
                await ws.send(bytes(2 * 1024 * 1024))  # 2 MiB of zeros: about 2 KiB compressed
                with self.assertRaises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
                self.assertEqual(closed.exception.rcvd.code, 1009)
            # The server goes on serving.
            async with websockets.connect(server.ws_url + "echo", open_timeout=5) as ws:
                await ws.send("still here")
                self.assertEqual(await ws.recv(), "still here")

        self.run_mode("no-context-takeover", scenario)


if __name__ == "__main__":
    unittest.main()
