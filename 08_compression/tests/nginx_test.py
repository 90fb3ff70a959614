"""Interop test: the chat behind nginx, exactly as 08_compression/deploy/nginx.conf.template configures it.

nginx terminates TLS with a certificate made for the test and proxies the page, the login and the
WebSocket to the chat server on loopback. Two users of Python's websockets (Debian's
python3-websockets 10.4) log in and chat over wss:// through nginx; a page from another origin is
still refused. Everything nginx writes stays in a temporary directory. Run with Debian's
/usr/bin/python3 and WS_SERVER=/path/to/server; exits 77 (skipped) when nginx or
python3-websockets is missing, unless WS_REQUIRE_E2E=1.
"""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e", "lib"))
import harness  # pylint: disable=wrong-import-position

websockets = harness.require_websockets()

TEMPLATE = os.path.join(HERE, "..", "deploy", "nginx.conf.template")

STEP_TIMEOUT = 5.0
"""The longest any single step (a request, connect, an event, a close) may take, in seconds."""


def find_nginx():
    """nginx's path; exits 77 (or fails under WS_REQUIRE_E2E=1) when it is not installed."""
    return harness.require_program("nginx", "the reverse-proxy tests")


def make_certificate(directory):
    """A self-signed certificate for localhost and 127.0.0.1, as `./course cert` makes."""
    crt, key = os.path.join(directory, "localhost.crt"), os.path.join(directory, "localhost.key")
    subprocess.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True, timeout=20)
    return crt, key


def free_port():
    """A port nobody listens on right now (nginx binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Nginx:
    """nginx in the foreground with the template's config, its files all in `directory`."""

    def __init__(self, binary, directory, listen_port, upstream_ports, crt, key):
        with open(TEMPLATE, encoding="utf-8") as template:
            config = template.read()
        servers = " ".join(f"server 127.0.0.1:{port};" for port in upstream_ports)
        for placeholder, value in (("@LISTEN@", f"127.0.0.1:{listen_port}"),
                                   ("@SERVERS@", servers),
                                   ("@CERT@", crt), ("@KEY@", key)):
            config = config.replace(placeholder, value)
        conf = os.path.join(directory, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as file:
            file.write(config)
        self.stderr_path = os.path.join(directory, "nginx.stderr")
        # As root, nginx's workers would run as `nobody`, who cannot enter our private temporary
        # directory to spool the page; `user root` keeps them able to.
        globals_ = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [binary, "-p", directory, "-c", conf, "-g", globals_],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True)
        self._wait_until_listening(listen_port)

    def output(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as file:
            return file.read()

    def _wait_until_listening(self, port):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.process.returncode}):\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nginx did not listen on {port} within 10 s:\n{self.output()}")

    def stop(self):
        """Fast shutdown (SIGTERM to the master, which ends its workers); SIGKILL to the whole
        process group after 5 s. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        return self.process.returncode


class ChatBehindNginx(unittest.IsolatedAsyncioTestCase):
    """Each test gets its own chat server and nginx in front of it, on free ports."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="ws08_nginx_")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        crt, key = make_certificate(self.directory)
        # Trust exactly the test's certificate, and check it names 127.0.0.1, as a browser would.
        self.context = ssl.create_default_context(cafile=crt)
        for attempt in range(3):  # another program may take the free port before nginx does
            self.port = free_port()
            self.origin = f"https://127.0.0.1:{self.port}"
            # The page now comes from nginx's origin: the chat server must allow it.
            self.server = harness.start_server(args=["--allow-origin", self.origin])
            try:
                self.nginx = Nginx(find_nginx(), self.directory, self.port, [self.server.port],
                                   crt, key)
                break
            except RuntimeError:
                self.server.stop()
                if attempt == 2:
                    raise

    def tearDown(self):
        self.assertEqual(self.nginx.stop(), 0, "nginx exits with 0 on SIGTERM")
        self.assertEqual(self.server.stop(), 0, "the chat server exits with 0 on SIGTERM")

    def request(self, path, body=None):
        """(status, body) of a GET, or of a POST of `body` as JSON, through nginx."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self.context, timeout=STEP_TIMEOUT) as reply:
            return reply.status, reply.read().decode()

    async def connect(self, username, password, origin=None):
        _, body = await asyncio.to_thread(self.request, "/login",
                                          {"username": username, "password": password})
        otp = json.loads(body)["otp"]
        return await asyncio.wait_for(
            websockets.connect(f"wss://127.0.0.1:{self.port}/ws?otp={otp}", ssl=self.context,
                               origin=origin or self.origin, compression=None),
            STEP_TIMEOUT)

    @staticmethod
    async def next_event(ws, type_):
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
            if event["type"] == type_:
                return event["payload"]

    @staticmethod
    async def say(ws, message):
        await ws.send(json.dumps({"type": "send_message", "payload": {"message": message}}))

    async def test_two_users_chat_through_nginx_over_wss(self):
        status, page = await asyncio.to_thread(self.request, "/")
        self.assertEqual(status, 200)
        self.assertIn("<html", page, "the chat page comes through the proxy")

        alice = await self.connect("alice", "wonderland")
        await self.next_event(alice, "room_changed")
        bob = await self.connect("bob", "builder")
        self.assertEqual((await self.next_event(bob, "room_changed"))["members"], ["alice", "bob"])

        for sender, receiver, text in ((alice, bob, "hello through nginx"),
                                       (bob, alice, "hello back")):
            await self.say(sender, text)
            for ws in (receiver, sender):  # every member, the sender too, gets the message
                payload = await self.next_event(ws, "new_message")
                self.assertEqual(payload["message"], text)
        self.assertEqual(payload["from"], "bob")

        for ws in (alice, bob):
            await asyncio.wait_for(ws.close(code=1000, reason="bye"), STEP_TIMEOUT)
            self.assertEqual(ws.close_code, 1000)
        self.server.wait_for_line(r'closed 1000 "bye" \(initiated by client\)$', STEP_TIMEOUT)

    def test_the_proxy_read_timeout_outlasts_the_ping_period(self):
        # nginx drops a tunnel that is silent for proxy_read_timeout; the server's pings are what
        # keep an idle chat talking, so they must come more often than that.
        with open(TEMPLATE, encoding="utf-8") as template:
            timeout = int(re.search(r"proxy_read_timeout (\d+)s;", template.read()).group(1))
        usage = subprocess.run([os.environ["WS_SERVER"], "--help"], capture_output=True, text=True,
                               check=True, timeout=STEP_TIMEOUT).stdout
        ping_period = int(re.search(r"--ping-period .*\(default (\d+)s\)", usage).group(1))
        self.assertGreater(timeout, ping_period)

    async def test_a_page_from_another_origin_is_still_refused(self):
        with self.assertRaises(websockets.InvalidStatusCode) as refused:
            await self.connect("alice", "wonderland", origin="https://evil.example")
        self.assertEqual(refused.exception.status_code, 403)
        self.server.wait_for_line(r"rejected 403: origin https://evil.example is not allowed",
                                  STEP_TIMEOUT)


if __name__ == "__main__":
    harness.start_watchdog()
    find_nginx()  # skip before starting anything when nginx is missing
    unittest.main()
