"""Scale-out test: two chat servers sharing rooms through a real redis-server, alone and behind nginx.

Each test starts Debian's redis-server on a free loopback port (no persistence, its files in a
temporary directory) and two chat servers with `--redis 127.0.0.1:PORT`; clients are Python's
websockets (Debian's python3-websockets 10.4). What a user of a multi-server chat would notice:
messages cross servers both ways, in order and once; rooms stay apart; both servers show the same
history; a login on one server is good on the other, once; losing Redis splits the chat into its
servers (with an error event) without dropping anyone, and it heals when Redis is back; and nginx
can spread users over both servers. Run with /usr/bin/python3 and WS_SERVER=/path/to/server;
exits 77 (skipped) when redis-server, nginx or python3-websockets is missing, unless
WS_REQUIRE_E2E=1.
"""

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "lib"))
import harness  # pylint: disable=wrong-import-position
from nginx_test import Nginx, find_nginx, free_port, make_certificate  # pylint: disable=wrong-import-position

websockets = harness.require_websockets()

STEP_TIMEOUT = 5.0
"""The longest any single step (a request, connect, an event) may take, in seconds."""


def find_redis():
    """redis-server's path; exits 77 (or fails under WS_REQUIRE_E2E=1) when it is missing."""
    return harness.require_program("redis-server", "the scale-out tests")


class Redis:
    """redis-server in the foreground on `port`, keeping nothing on disk."""

    def __init__(self, directory, port):
        self.directory, self.port = directory, port
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [find_redis(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.directory],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode})")
            if self.ping():
                return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server did not answer on {self.port} within 10 s")

    def ping(self):
        """True if Redis answers PING (with redis-cli's wire format written by hand: RESP)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        """SIGKILL: Redis vanishes as after a crash, without closing anything politely."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


def start_redis(test, prefix):
    """A temporary directory and a redis-server in it on a free port, both gone after `test`."""
    directory = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, directory, ignore_errors=True)
    redis = Redis(directory, free_port())
    test.addCleanup(redis.kill)
    return directory, redis


def login(port, username, password, scheme="http", context=None):
    """POST /login; returns (status, JSON body)."""
    request = urllib.request.Request(
        f"{scheme}://127.0.0.1:{port}/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=STEP_TIMEOUT, context=context) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


async def next_event(ws, type_, timeout=STEP_TIMEOUT):
    """The payload of the next event of `type_`, skipping others (presence and the like)."""
    async def wait():
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == type_:
                return event["payload"]
    return await asyncio.wait_for(wait(), timeout)


async def say(ws, message):
    await ws.send(json.dumps({"type": "send_message", "payload": {"message": message}}))


async def collect(ws, count, timeout=STEP_TIMEOUT):
    """The next `count` new_message payloads."""
    return [await next_event(ws, "new_message", timeout) for _ in range(count)]


class TwoServers(unittest.IsolatedAsyncioTestCase):
    """Each test gets its own redis-server and two chat servers, A and B, sharing it."""

    def setUp(self):
        self.directory, self.redis = start_redis(self, "ws08_scaleout_")
        self.servers = [self.start_chat() for _ in range(2)]
        self.a, self.b = self.servers

    def start_chat(self, *extra):
        server = harness.start_server(args=["--redis", f"127.0.0.1:{self.redis.port}", *extra])
        self.addCleanup(self.stop_chat, server)
        return server

    def stop_chat(self, server):
        self.assertEqual(server.stop(), 0, "the chat server exits with 0 on SIGTERM")

    async def connect(self, server, username, password, room=None):
        status, body = await asyncio.to_thread(login, server.port, username, password)
        self.assertEqual(status, 200, body)
        ws = await asyncio.wait_for(
            websockets.connect(f"{server.ws_url}ws?otp={body['otp']}", compression=None,
                               origin=f"http://127.0.0.1:{server.port}"), STEP_TIMEOUT)
        self.addAsyncCleanup(ws.close)
        await next_event(ws, "room_changed")
        if room:
            await ws.send(json.dumps({"type": "change_room", "payload": {"room": room}}))
            await next_event(ws, "room_changed")
        return ws

    async def test_a_room_spans_both_servers_in_order_without_repeats(self):
        alice = await self.connect(self.a, "alice", "wonderland")
        bob = await self.connect(self.b, "bob", "builder")
        # The same room name on the other server's side is a different room only if it is a
        # different name: carol (B) and dave (A) are in "quiet" and must hear none of "general".
        carol = await self.connect(self.b, "alice", "wonderland", room="quiet")
        dave = await self.connect(self.a, "bob", "builder", room="quiet")

        count = 20
        for i in range(count):  # interleaved, from both servers at once
            await say(alice, f"a{i}")
            await say(bob, f"b{i}")
        for member in (alice, bob):
            got = [(m["from"], m["message"]) for m in await collect(member, 2 * count)]
            for sender, prefix in (("alice", "a"), ("bob", "b")):
                own = [text for who, text in got if who == sender]
                self.assertEqual(own, [f"{prefix}{i}" for i in range(count)],
                                 f"{sender}'s messages, each once and in order")
        await say(dave, "only for quiet")
        self.assertEqual((await next_event(carol, "new_message"))["message"], "only for quiet",
                         "a room spans servers whatever its name")
        self.assertEqual((await next_event(dave, "new_message"))["message"], "only for quiet")
        for member in (alice, bob):  # nothing from "quiet" reached "general", on either server
            with self.assertRaises(asyncio.TimeoutError):
                await next_event(member, "new_message", timeout=0.5)

    async def test_both_servers_show_the_same_history(self):
        alice = await self.connect(self.a, "alice", "wonderland")
        bob = await self.connect(self.b, "bob", "builder")
        for i in range(3):
            await say(alice, f"from A {i}")
            await say(bob, f"from B {i}")
        await collect(alice, 6)
        await collect(bob, 6)
        histories = []
        for server in (self.a, self.b):
            status, body = await asyncio.to_thread(login, server.port, "alice", "wonderland")
            self.assertEqual(status, 200)
            async with websockets.connect(f"{server.ws_url}ws?otp={body['otp']}",
                                          origin=f"http://127.0.0.1:{server.port}") as late:
                histories.append((await next_event(late, "room_changed"))["history"])
        self.assertEqual(len(histories[0]), 6)
        self.assertEqual(histories[0], histories[1], "the same messages, in the same order")

    async def test_a_login_on_one_server_is_good_once_on_any(self):
        status, body = await asyncio.to_thread(login, self.a.port, "bob", "builder")
        self.assertEqual(status, 200)
        url = f"ws?otp={body['otp']}"
        async with websockets.connect(self.b.ws_url + url,
                                      origin=f"http://127.0.0.1:{self.b.port}") as bob:
            self.assertEqual((await next_event(bob, "room_changed"))["members"], ["bob"])
        for server in (self.a, self.b):  # used: refused by both, the issuer included
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as refused:
                await websockets.connect(server.ws_url + url,
                                         origin=f"http://127.0.0.1:{server.port}")
            self.assertEqual(refused.exception.status_code, 401)

    async def test_losing_redis_splits_the_chat_and_it_heals(self):
        alice = await self.connect(self.a, "alice", "wonderland")
        alice_too = await self.connect(self.a, "alice", "wonderland")
        bob = await self.connect(self.b, "bob", "builder")

        self.redis.kill()
        for member in (alice, alice_too, bob):
            notice = await next_event(member, "error")
            self.assertIn("other chat servers", notice["reason"])
        await asyncio.to_thread(self.a.wait_for_line, r"^redis: connection lost", STEP_TIMEOUT)

        await say(alice, "while Redis is down")
        for member in (alice, alice_too):  # same server: still delivered
            self.assertEqual((await next_event(member, "new_message"))["message"],
                             "while Redis is down")
        with self.assertRaises(asyncio.TimeoutError):  # other server: it cannot be
            await next_event(bob, "new_message", timeout=0.5)

        self.redis.start()  # same port; the servers reconnect (backoff at most 2 s)
        for server in (self.a, self.b):
            await asyncio.to_thread(server.wait_for_line, r"^redis: connection back", 10)
        await say(bob, "Redis is back")
        for member in (alice, alice_too, bob):
            self.assertEqual((await next_event(member, "new_message"))["message"],
                             "Redis is back")
        self.assertTrue(all(not ws.closed for ws in (alice, alice_too, bob)),
                        "nobody was disconnected by the outage")


class Startup(unittest.TestCase):
    def test_redis_down_at_start_is_a_clear_error(self):
        port = free_port()  # nothing listens there
        result = subprocess.run([os.environ["WS_SERVER"], "--port", "0", "--redis",
                                 f"127.0.0.1:{port}"], capture_output=True, text=True,
                                timeout=10, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr, rf"cannot use Redis at 127\.0\.0\.1:{port}: "
                                        r"Connection refused")
        self.assertNotIn("listening on", result.stdout)


class BehindNginx(unittest.IsolatedAsyncioTestCase):
    """nginx terminates TLS and takes turns between two chat servers sharing one Redis."""

    def setUp(self):
        self.directory, self.redis = start_redis(self, "ws08_scaleout_nginx_")
        crt, key = make_certificate(self.directory)
        self.context = ssl.create_default_context(cafile=crt)
        for attempt in range(3):  # another program may take the free port before nginx does
            self.port = free_port()
            self.origin = f"https://127.0.0.1:{self.port}"
            self.servers = [harness.start_server(args=[
                "--redis", f"127.0.0.1:{self.redis.port}", "--allow-origin", self.origin])
                for _ in range(2)]
            try:
                self.nginx = Nginx(find_nginx(), self.directory, self.port,
                                   [server.port for server in self.servers], crt, key)
                break
            except RuntimeError:
                for server in self.servers:
                    server.stop()
                if attempt == 2:
                    raise

    def tearDown(self):
        self.assertEqual(self.nginx.stop(), 0)
        for server in self.servers:
            self.assertEqual(server.stop(), 0)

    async def test_users_spread_over_both_servers_chat_together(self):
        users = []
        for name, password in (("alice", "wonderland"), ("bob", "builder")) * 2:
            # As a browser does: the page, the login, the WebSocket. Three requests, so nginx's
            # turns put some logins and their upgrades on different servers.
            page = await asyncio.to_thread(urllib.request.urlopen, f"{self.origin}/",
                                           timeout=STEP_TIMEOUT, context=self.context)
            self.assertEqual(page.status, 200)
            page.close()
            status, body = await asyncio.to_thread(login, self.port, name, password, "https",
                                                   self.context)
            self.assertEqual(status, 200, body)
            ws = await asyncio.wait_for(websockets.connect(
                f"wss://127.0.0.1:{self.port}/ws?otp={body['otp']}", ssl=self.context,
                origin=self.origin, compression=None), STEP_TIMEOUT)
            self.addAsyncCleanup(ws.close)
            await next_event(ws, "room_changed")
            users.append(ws)
        # The servers' log lines arrive through reader threads, possibly after the events the
        # clients already have: wait for all four, bounded.
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            upgraded = [sum(1 for line in list(server.lines) if " upgraded as " in line)
                        for server in self.servers]
            if sum(upgraded) >= 4 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        self.assertEqual(sum(upgraded), 4)
        self.assertTrue(all(count > 0 for count in upgraded),
                        f"round robin used both servers: {upgraded}")
        for i, sender in enumerate(users):
            await say(sender, f"message {i}")
            for member in users:
                self.assertEqual((await next_event(member, "new_message"))["message"],
                                 f"message {i}")


if __name__ == "__main__":
    harness.start_watchdog()
    find_redis()  # skip before starting anything when redis-server or nginx is missing
    find_nginx()
    unittest.main(verbosity=2)
