#!/usr/bin/python3
"""Hostile clients against a stage's server (the echo server of stage 03, the chat of stage 05).

Each case attacks a fresh server (env WS_SERVER, started on port 0 by e2e/lib/harness.py), states
the outcome it expects, and then checks that the server survived: a normal client is still
served, and the server's thread count, descriptor count and resident memory (/proc/PID/status,
/proc/PID/fd) come back to their bounds. Standard library only; run with Debian's
/usr/bin/python3.

    WS_SERVER=build/05_chat/server /usr/bin/python3 e2e/hostile/hostile.py --kind chat
    WS_SERVER=build/03_frames/server /usr/bin/python3 e2e/hostile/hostile.py --kind echo \
        --case huge_length
    /usr/bin/python3 e2e/hostile/hostile.py --list

Exit status: 0 when every case passed, 1 when one failed, 77 when every case asked for was skipped
(a case for a flag the server does not have yet).
"""

import argparse
import os
import random
import selectors
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402  pylint: disable=wrong-import-position
import wsraw  # noqa: E402  pylint: disable=wrong-import-position

HANDSHAKE_TIMEOUT = 10.0
"""Both servers answer 408 to a request head not complete within 10 s (kHandshakeTimeout)."""

SLACK = 2.5
"""Seconds allowed beyond a server's own deadline: scheduling, a loaded CI machine."""


class Skip(Exception):
    """The case does not apply to this server (yet)."""


# ---- the server under test and its resources ------------------------------------------------

def sanitized(binary):
    """True for a server built with ASan or TSan: its memory figures need far more room."""
    with open(binary, "rb") as file:
        data = file.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def proc_stats(pid):
    """(threads, resident KiB, open descriptors) of process `pid`."""
    threads = rss = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, rss, len(os.listdir(f"/proc/{pid}/fd"))


class Target:
    """A running server, its baseline figures and the checks every case ends with."""

    def __init__(self, kind, args=()):
        self.kind = kind
        self.binary = os.environ["WS_SERVER"]
        self.help = server_help(self.binary)
        self.server = harness.start_server(self.binary, list(args))
        self.port = self.server.port
        # The harness keeps the process private; the figures we check live in its /proc entry.
        self.pid = self.server._process.pid  # pylint: disable=protected-access
        self.rss_slack_kib = (1024 if sanitized(self.binary) else 64) * 1024
        self.serve_normal_client()  # warm up: the first client allocates what every client will
        time.sleep(0.3)
        self.threads, self.rss, self.fds = proc_stats(self.pid)
        say(f"baseline: {self.threads} threads, {self.rss // 1024} MiB resident, {self.fds} fds")

    def stats(self):
        """Current (threads, resident KiB, descriptors)."""
        return proc_stats(self.pid)

    def serve_normal_client(self, timeout=5.0):
        """A well-behaved client is served: the echo answers, the chat logs in and chats."""
        if self.kind == "echo":
            connection = wsraw.open_websocket(self.port, "/", timeout=timeout)
            text = "hello, are you still there?"
            connection.send_text(text)
            frame = connection.next_frame(timeout)
            expect(frame.opcode == wsraw.OP_TEXT and frame.payload == text.encode(),
                   f"the echo answers a normal client (got {frame})")
        else:
            connection, _ = wsraw.open_chat(self.port, "bob", "builder")
            text = f"normal client {random.random()}"
            connection.send_text(f'{{"type":"send_message","payload":{{"message":"{text}"}}}}')
            deadline = time.monotonic() + timeout
            while True:
                event = connection.next_event(deadline - time.monotonic())
                if event["type"] == "new_message" and event["payload"]["message"] == text:
                    break
        connection.send_frame(wsraw.OP_CLOSE, wsraw.close_payload(1000))
        reply = connection.wait_for_close(timeout)
        expect(reply is not None and reply.close_code == 1000, "the close handshake completes")
        connection.sock.close()

    def wait_until_settled(self, timeout=HANDSHAKE_TIMEOUT + 5 + SLACK):
        """Waits until threads and descriptors are back to the baseline; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            threads, rss, fds = self.stats()
            if threads <= self.threads and fds <= self.fds:
                return threads, rss, fds
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout:.0f} s: {threads} threads "
                                     f"(baseline {self.threads}), {fds} fds (baseline {self.fds})")
            time.sleep(0.1)

    def check_survived(self):
        """The end of every case: a normal client is served and resources are back in bounds."""
        self.serve_normal_client()
        threads, rss, fds = self.wait_until_settled()
        expect(rss <= self.rss + self.rss_slack_kib,
               f"resident memory bounded: {rss // 1024} MiB, baseline {self.rss // 1024} MiB")
        say(f"survived: normal client served; {threads} threads, {rss // 1024} MiB resident, "
            f"{fds} fds")

    def stop(self):
        """SIGTERM; the server must exit 0 (every connection of ours is closed by now)."""
        code = self.server.stop(signal.SIGTERM)
        expect(code == 0, f"the server exits 0 on SIGTERM (got {code})")


_help_cache = {}


def server_help(binary):
    """The server's --help text (to see which flags it has)."""
    if binary not in _help_cache:
        import subprocess  # pylint: disable=import-outside-toplevel
        result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10,
                                check=False)
        _help_cache[binary] = result.stdout + result.stderr
    return _help_cache[binary]


def limit_args(binary):
    """Flags that lift connection limits the server may have grown, so that a case about
    something else is not cut short by them."""
    text = server_help(binary)
    args = []
    if "--max-connections" in text:
        args += ["--max-connections", "5000"]
    if "--max-connections-per-ip" in text:
        args += ["--max-connections-per-ip", "5000"]
    return args


def say(text):
    """Progress on stdout, flushed (CTest shows it on failure)."""
    print(f"  {text}", flush=True)


def expect(condition, what):
    """Fails the case with `what` unless `condition` holds."""
    if not condition:
        raise AssertionError(what)


def upgraded(target, **kwargs):
    """An upgraded connection to `target` as its stage wants it (the chat logs in first)."""
    if target.kind == "echo":
        return wsraw.open_websocket(target.port, "/", **kwargs)
    otp = wsraw.login(target.port, "alice", "wonderland")
    connection = wsraw.open_websocket(target.port, f"/ws?otp={otp}", **kwargs)
    expect(connection.next_event()["type"] == "room_changed", "the chat greets with room_changed")
    return connection


def expect_close(connection, codes, within, what):
    """Waits for the server's Close frame; it must carry one of `codes` and arrive in time."""
    start = time.monotonic()
    frame = connection.wait_for_close(within)
    elapsed = time.monotonic() - start
    expect(frame is not None, f"{what}: a Close frame (TCP ended without one)")
    expect(frame.close_code in codes,
           f"{what}: close code {frame.close_code} {frame.close_reason!r}, expected {codes}")
    expect(elapsed <= within, f"{what}: close after {elapsed:.1f} s")
    say(f"{what}: closed {frame.close_code} {frame.close_reason!r} after {elapsed:.2f} s")
    # Answer as a polite client, so the server has its reply and closes TCP at once.
    connection.close(frame.close_code)
    return frame


def send_head_expect_status(target, head, status, what, timeout=5.0):
    """Sends a request head and expects an HTTP `status` back, then the end of TCP."""
    sock = wsraw.connect(target.port)
    try:
        sock.sendall(head)
        got, response_head, body, _ = wsraw.read_http_response(sock, timeout)
    finally:
        sock.close()
    expect(got == status, f"{what}: expected {status}, got {got} ({body[:80]!r})")
    say(f"{what}: {response_head.splitlines()[0]} ({body.strip()[:60].decode(errors='replace')})")
    return response_head, body


# ---- the cases ------------------------------------------------------------------------------

CASES = {}


def case(kinds, expected, args_for=None):
    """Registers a case for the server kinds in `kinds` ("echo", "chat"), with the outcome it
    expects in one sentence; `args_for(kind, binary)` gives extra server flags."""
    def register(function):
        CASES[function.__name__] = (function, kinds, expected, args_for)
        return function
    return register


@case(("echo", "chat"), "408 within the 10 s handshake timeout (+ slack), however slowly the "
      "bytes arrive: the deadline is fixed when the connection is accepted")
def handshake_slowloris(target):
    sock = wsraw.connect(target.port)
    request = wsraw.upgrade_request("/", f"127.0.0.1:{target.port}", wsraw.new_key())
    start = time.monotonic()
    response = b""
    try:
        for byte in request[:-4]:  # never the final blank line
            sock.sendall(bytes([byte]))
            if wsraw.readable(sock, 1.0):  # one byte every second, until the server answers
                break
            expect(time.monotonic() - start < HANDSHAKE_TIMEOUT + SLACK, "no answer in time")
        status, head, _, _ = wsraw.read_http_response(sock, HANDSHAKE_TIMEOUT + SLACK)
        response = head
    finally:
        sock.close()
    elapsed = time.monotonic() - start
    expect(status == 408, f"408 Request Timeout, got {response.splitlines()[0]}")
    expect(HANDSHAKE_TIMEOUT - 1 <= elapsed <= HANDSHAKE_TIMEOUT + SLACK,
           f"408 after the handshake timeout, not {elapsed:.1f} s")
    say(f"408 after {elapsed:.1f} s of one byte per second")


def has_heartbeat(binary):
    """True for a server with a heartbeat (stage 04 on): it has --pong-wait."""
    return "--pong-wait" in server_help(binary)


def slowloris_args(kind, binary):
    return ["--ping-period", "1s", "--pong-wait", "1s"] if has_heartbeat(binary) else []


@case(("echo", "chat"), "inside a frame, a drip of a byte every 0.8 s: a server with a heartbeat "
      "(stage 04 on; --ping-period 1s --pong-wait 1s) keeps pinging, since every byte is a sign "
      "of life, but closes 1008 'message too slow' once the started message has neither finished "
      "nor sent 16 KiB in 2 x pong wait (2 s); stage 03's echo server has no clock after the "
      "upgrade and just waits; one thread and at most --max-message bytes are held meanwhile, "
      "and a normal client is served during the drip", args_for=slowloris_args)
def frame_slowloris(target):
    heartbeat = has_heartbeat(target.binary)
    connection = upgraded(target, auto_pong=False)
    frame = wsraw.encode_frame(wsraw.OP_TEXT, b"x" * 100)
    start = time.monotonic()
    connection.send(frame[:6])  # the header and masking key, then the payload a byte at a time
    target.serve_normal_client()
    say("a normal client is served while the frame drips")
    pings = 0
    closed = None
    sent = 6
    # Faster than pong_wait, so every ping has a byte after it: the heartbeat alone would keep
    # the connection forever. Eight bytes (6.4 s) show the echo server waiting; a server with a
    # heartbeat must have closed before the fourth. The pause is cut short by anything the
    # server sends, so no byte goes to a connection the server has already closed.
    next_byte = start + 0.8
    while closed is None and sent < 14 and time.monotonic() < start + 10:
        if wsraw.readable(connection.sock, max(0.0, next_byte - time.monotonic())):
            got = connection.next_frame(0.5)
            if got.opcode == wsraw.OP_CLOSE:
                closed = got
                break
            # Pings, and in the chat the normal client's comings and goings (presence events).
            expect(got.opcode in (wsraw.OP_PING, wsraw.OP_TEXT),
                   f"only pings and events while the frame drips, got {got}")
            pings += got.opcode == wsraw.OP_PING
            continue
        if sent == 8:
            threads, _, _ = target.stats()
            expect(threads <= target.threads + 1, f"one thread for the dripping peer ({threads})")
        connection.send(frame[sent:sent + 1])
        sent += 1
        next_byte += 0.8
    elapsed = time.monotonic() - start
    if not heartbeat:
        expect(closed is None and pings == 0, "the echo server has no heartbeat")
        say("6.4 s of drip: still open, no timeout inside a frame (stage 04 adds the heartbeat)")
        connection.sock.close()
        return
    window = 2 * 1.0  # 2 x pong_wait
    expect(closed is not None, f"a close frame within {window + SLACK:.1f} s of the drip's start")
    expect(closed.close_code == 1008 and closed.close_reason == "message too slow",
           f"1008 'message too slow', got {closed.close_code} {closed.close_reason!r}")
    expect(window <= elapsed <= window + SLACK,
           f"closed {elapsed:.2f} s after the first byte, expected {window:.0f} s")
    target.server.wait_for_line(r"^#\d+ message too slow: ", timeout=2)
    say(f"closed 1008 'message too slow' {elapsed:.2f} s after the first byte, {sent - 6} payload "
        f"bytes dripped, {pings} pings received (each byte was a sign of life)")
    connection.close(1008)


@case(("echo", "chat"), "1,000 connections that never finish their request head all get 408 "
      "(or are closed) within the handshake timeout, a normal client is served meanwhile, and the "
      "thread count returns to its baseline", args_for=lambda kind, binary: limit_args(binary))
def handshake_flood(target):
    count = 1000
    sockets = []
    try:
        for _ in range(count):
            sock = wsraw.connect(target.port)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            sockets.append(sock)
        opened = time.monotonic()
        time.sleep(0.5)
        threads, rss, _ = target.stats()
        say(f"{count} half-open requests: {threads} threads, {rss // 1024} MiB resident")
        expect(threads <= target.threads + count + 2, "at most one thread per connection")
        target.serve_normal_client(timeout=HANDSHAKE_TIMEOUT)
        say("a normal client is served during the flood")
        answers = {}
        waiting = selectors.DefaultSelector()
        for sock in sockets:
            waiting.register(sock, selectors.EVENT_READ)
        deadline = opened + HANDSHAKE_TIMEOUT + SLACK + 2
        while waiting.get_map() and time.monotonic() < deadline:
            for key, _ in waiting.select(0.5):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "EOF"
                answers[status] = answers.get(status, 0) + 1
                waiting.unregister(key.fileobj)
        pending = len(waiting.get_map())
        waiting.close()
        say(f"answers: {answers}, {pending} still open "
            f"{time.monotonic() - opened:.1f} s after the last connect")
        expect(not pending, f"{pending} connections neither answered nor closed in time")
        expect(set(answers) <= {"408", "503", "EOF"}, f"only 408 (or 503, EOF): {answers}")
    finally:
        for sock in sockets:
            sock.close()


@case(("echo", "chat"), "a frame declaring 2^63 - 1 payload bytes is refused with 1009 at once, "
      "before any payload arrives and without allocating for it")
def huge_length(target):
    connection = upgraded(target)
    connection.send(wsraw.encode_frame(wsraw.OP_BINARY, b"", declared_length=(1 << 63) - 1))
    expect_close(connection, (1009,), 2.0, "declared length 2^63 - 1")


@case(("echo", "chat"), "a 64-bit length with its most significant bit set (2^63) is a protocol "
      "error: 1002 (RFC 6455 §5.2)")
def length_top_bit(target):
    connection = upgraded(target)
    connection.send(wsraw.encode_frame(wsraw.OP_BINARY, b"", declared_length=1 << 63))
    expect_close(connection, (1002,), 2.0, "declared length 2^63")


@case(("echo", "chat"), "an endless fragmented message whose every frame is under the frame "
      "limit but whose total passes --max-message is closed 1009 as soon as the total does")
def fragment_flood(target):
    connection = upgraded(target)
    fragment = 1000 if target.kind == "chat" else 256 * 1024  # limits: 4 KiB and 16 MiB
    sent = 0
    opcode = wsraw.OP_TEXT
    start = time.monotonic()
    while time.monotonic() - start < 10:
        if wsraw.readable(connection.sock):
            break  # the server has answered: stop sending
        try:
            connection.send_frame(opcode, b"a" * fragment, fin=False)
        except OSError:
            break
        opcode = wsraw.OP_CONTINUATION
        sent += fragment
    # What was sent past the limit sat in socket buffers; the server read and dropped it.
    say(f"{sent} bytes sent in fragments of {fragment} before the answer was seen")
    frame = expect_close(connection, (1009,), 5.0, "message over the limit")
    expect("message" in frame.close_reason, "the message limit, not the frame limit, was hit")


@case(("echo", "chat"), "20,000 pings as fast as the socket takes them: every one is answered "
      "with a pong carrying its payload, in order, and threads and memory stay bounded")
def ping_flood(target):
    connection = upgraded(target)
    count = 20000
    received = []
    failure = []

    def read_pongs():
        try:
            while len(received) < count:
                frame = connection.next_frame(10)
                if frame.opcode == wsraw.OP_PONG:
                    received.append(frame.payload)
                elif frame.opcode != wsraw.OP_PING:
                    failure.append(f"unexpected {frame}")
                    return
        except (TimeoutError, wsraw.Closed) as error:
            failure.append(str(error))

    reader = threading.Thread(target=read_pongs, daemon=True)
    reader.start()
    start = time.monotonic()
    batch = []
    for i in range(count):
        batch.append(wsraw.encode_frame(wsraw.OP_PING, f"{i:06d}".encode() + b"p" * 119))
        if len(batch) == 500:
            connection.send(b"".join(batch))
            batch = []
    connection.send(b"".join(batch))
    reader.join(20)
    elapsed = time.monotonic() - start
    threads, rss, _ = target.stats()
    expect(not failure, f"reading pongs: {failure}")
    expect(len(received) == count, f"{len(received)} pongs for {count} pings")
    expect(all(payload[:6] == f"{i:06d}".encode() for i, payload in enumerate(received)),
           "pongs echo the pings' payloads in order")
    say(f"{count} pings answered in {elapsed:.1f} s; {threads} threads, {rss // 1024} MiB")
    connection.send_frame(wsraw.OP_CLOSE, wsraw.close_payload(1000))
    expect(connection.wait_for_close(5) is not None, "the close handshake completes")
    connection.sock.close()


def slow_reader_args(kind, binary):
    # No rate limit, so one sender can outrun a reader; a short write deadline (pong wait).
    return ["--rate-limit", "0", "--pong-wait", "2s"]


@case(("chat",), "a member that stops reading while another broadcasts is dropped (1008 'slow "
      "consumer', or TCP closed by the 2 s write deadline) and the other members receive every "
      "message, in order", args_for=slow_reader_args)
def slow_reader(target):
    stalled = upgraded(target, rcvbuf=4096)  # alice, who will never read again
    listener, _ = wsraw.open_chat(target.port, "bob", "builder")
    sender, _ = wsraw.open_chat(target.port, "bob", "builder")
    count = 3000
    text = "m" * 900
    got = {"listener": [], "sender": []}
    errors = []

    def collect(name, connection):
        try:
            while len(got[name]) < count:
                event = connection.next_event(15)
                if event["type"] == "new_message":
                    got[name].append(event["payload"]["message"])
        except (TimeoutError, wsraw.Closed) as error:
            errors.append(f"{name}: {error}")

    readers = [threading.Thread(target=collect, args=(name, conn), daemon=True)
               for name, conn in (("listener", listener), ("sender", sender))]
    for reader in readers:
        reader.start()
    start = time.monotonic()
    for i in range(count):
        sender.send_text(f'{{"type":"send_message","payload":{{"message":"{i:05d}{text}"}}}}')
        if i % 100 == 99:
            time.sleep(0.02)  # about 5,000 messages a second: a sender, not a flood
    for reader in readers:
        reader.join(30)
    elapsed = time.monotonic() - start
    expect(not errors, f"the other members were affected: {errors}")
    for name, messages in got.items():
        expect([m[:5] for m in messages] == [f"{i:05d}" for i in range(count)],
               f"{name} received all {count} messages in order ({len(messages)})")
    say(f"{count} messages of {len(text) + 5} characters reached both other members "
        f"in {elapsed:.1f} s")
    line = target.server.wait_for_line(r"^#\d+ .*(slow consumer|stopped reading)", timeout=5)
    say(f"the stalled member: {line.group(0)}")
    stalled.sock.close()
    listener.close()
    sender.close()


@case(("echo", "chat"), "random bytes after the upgrade are a protocol error: 1002 (a fixed seed "
      "makes the bytes, and so the verdict, the same on every run), and the server survives")
def random_bytes(target):
    for seed in range(1, 6):
        connection = upgraded(target)
        garbage = random.Random(seed).randbytes(4096)
        try:
            connection.send(garbage)
        except OSError:
            pass  # the server may already have failed the connection and reset it
        expect_close(connection, (1002,), 3.0, f"4 KiB of random bytes (seed {seed})")


@case(("echo", "chat"), "a request head over 8 KiB is refused with 431, with or without its "
      "blank line; more than 100 header fields with 400")
def oversized_header(target):
    host = f"Host: 127.0.0.1:{target.port}\r\n".encode()
    send_head_expect_status(target, b"GET / HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * 9000 +
                            b"\r\n\r\n", 431, "a 9 KiB header")
    send_head_expect_status(target, b"GET / HTTP/1.1\r\n" + host + b"X-Endless: " + b"a" * 9000,
                            431, "9 KiB without a blank line")
    fields = b"".join(b"X-%d: a\r\n" % i for i in range(101))
    send_head_expect_status(target, b"GET / HTTP/1.1\r\n" + host + fields + b"\r\n", 400,
                            "101 header fields")


@case(("echo", "chat"), "CR, LF or NUL inside a header value or the request target, and "
      "obsolete line folding, are refused with 400; nothing of the attempt reaches a response "
      "header or starts a log line of its own")
def header_injection(target):
    path = "/" if target.kind == "echo" else "/ws?otp=x"
    request = wsraw.upgrade_request(path, f"127.0.0.1:{target.port}", wsraw.new_key())
    attempts = {
        "bare CR in a value": b"X-Name: a\rSet-Cookie: injected=1\r\n",
        "bare LF in a value": b"X-Name: a\nSet-Cookie: injected=1\r\n",
        "NUL in a value": b"X-Name: a\x00b\r\n",
        "obsolete line folding": b"X-Name: a\r\n Set-Cookie: injected=1\r\n",
        "CR in the Origin": b"Origin: http://127.0.0.1\rSet-Cookie: injected=1\r\n",
        "space before the colon": b"Set-Cookie : injected=1\r\n",
    }
    for what, line in attempts.items():
        head = request[:-2] + line + b"\r\n"
        response_head, _ = send_head_expect_status(target, head, 400, what)
        expect("injected" not in response_head.lower(), f"{what}: nothing echoed in the head")
    target_with_cr = request.replace(path.encode(), path.encode() + b"\rX-Injected: 1", 1)
    send_head_expect_status(target, target_with_cr, 400, "CR in the request target")
    if target.kind == "chat":
        # The server logs failed logins with the name: CR LF in it must not start a new line.
        status, _ = wsraw.http_post_json(target.port, "/login",
                                         {"username": "eve\r\nFORGED log line", "password": "x"})
        expect(status == 401, f"a login with CR LF in the name is refused ({status})")
    time.sleep(0.2)
    forged = [line for line in target.server.lines
              if line.startswith("FORGED") or line.lower().startswith("set-cookie")]
    expect(not forged, f"forged log lines: {forged[:3]}")


def max_connections_args(kind, binary):
    if "--max-connections" not in server_help(binary):
        return []
    return ["--max-connections", "4"]


@case(("echo", "chat"), "with --max-connections 4, a fifth connection gets 503 before any "
      "upgrade while four are open; once they end, clients are served again (skipped until the "
      "server has the flag)", args_for=max_connections_args)
def max_connections(target):
    if "--max-connections" not in target.help:
        raise Skip("the server has no --max-connections flag yet")
    # Our warm-up client has gone; wait until the server has forgotten it.
    target.wait_until_settled()
    holders = [wsraw.connect(target.port) for _ in range(4)]
    try:
        for sock in holders:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.3)
        head = wsraw.upgrade_request("/", f"127.0.0.1:{target.port}", wsraw.new_key())
        send_head_expect_status(target, head, 503, "a fifth connection")
    finally:
        for sock in holders:
            sock.close()
    target.wait_until_settled()


# ---- running them -----------------------------------------------------------------------------

def run_case(name, kind):
    """Runs one case on a fresh server; returns "pass", "fail" or "skip"."""
    function, kinds, expected, args_for = CASES[name]
    print(f"[{name}] expected: {expected}", flush=True)
    if kind not in kinds:
        print(f"[{name}] skip: not a case for the {kind} server", flush=True)
        return "skip"
    args = args_for(kind, os.environ["WS_SERVER"]) if args_for else []
    target = Target(kind, args)
    try:
        start = time.monotonic()
        function(target)
        target.check_survived()
        target.stop()
        print(f"[{name}] pass ({time.monotonic() - start:.1f} s)", flush=True)
        return "pass"
    except Skip as reason:
        target.stop()
        print(f"[{name}] skip: {reason}", flush=True)
        return "skip"
    except Exception as error:  # pylint: disable=broad-except
        print(f"[{name}] FAIL: {type(error).__name__}: {error}", flush=True)
        target.server.stop(signal.SIGKILL)
        return "fail"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--kind", choices=("echo", "chat"), default="chat",
                        help="the echo server (stage 03) or the chat (stage 05)")
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="run only this case (repeatable); default: all")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    options = parser.parse_args()
    if options.list:
        for name, (_, kinds, expected, _) in CASES.items():
            print(f"{name} ({', '.join(kinds)}): {expected}")
        return 0
    if not os.environ.get("WS_SERVER"):
        print("set WS_SERVER=/path/to/server (CTest sets it)", file=sys.stderr)
        return 2
    # More than 1,000 sockets at once; the hard limit is usually far higher than the soft one.
    import resource  # pylint: disable=import-outside-toplevel
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    harness.start_watchdog(float(os.environ.get("WS_HOSTILE_TIMEOUT_S", "170")))
    results = {name: run_case(name, options.kind) for name in (options.case or CASES)}
    print("summary: " + ", ".join(f"{name} {result}" for name, result in results.items()),
          flush=True)
    if "fail" in results.values():
        return 1
    if all(result == "skip" for result in results.values()):
        return harness.SKIP_EXIT_CODE
    return 0


if __name__ == "__main__":
    sys.exit(main())
