"""A raw WebSocket client (RFC 6455) for hostile tests, standard library only.

Unlike a real client library it lets a test send anything: frames with any header (a declared
length of 2^63 - 1, RSV bits, no mask), requests with CR or LF inside a value, bytes one at a
time. Every socket operation has a timeout, so a server that never answers fails a test instead
of hanging it.
"""

import base64
import hashlib
import json
import os
import select
import socket
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""RFC 6455 §1.3: appended to the client's key before hashing."""

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class Closed(Exception):
    """The server closed TCP (EOF or reset) before what we waited for arrived."""


def connect(port, host="127.0.0.1", timeout=5.0, rcvbuf=None):
    """A TCP connection to the server. `rcvbuf` shrinks our receive buffer (a slow reader)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # Before connect(), so the window the server sees is small from the start.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect((host, port))
    return sock


def readable(sock, timeout=0.0):
    """True when `sock` has data (or EOF) to read within `timeout` s. poll(), not select(), so
    that descriptors above 1023 work (a flood holds a thousand sockets)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(max(0, int(timeout * 1000))))


def recv_some(sock, timeout):
    """Up to 64 KiB from `sock` within `timeout` s: b"" means the peer closed TCP (EOF or reset).

    Raises TimeoutError when nothing arrived in time.
    """
    if not readable(sock, timeout):
        raise TimeoutError(f"nothing received within {timeout:.1f} s")
    try:
        return sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return b""


def read_http_response(sock, timeout=5.0, initial=b""):
    """Reads one HTTP response. Returns (status, head text, body bytes, bytes after the body).

    Raises Closed if TCP ends before a complete head, TimeoutError after `timeout` s.
    """
    deadline = time.monotonic() + timeout
    buffer = initial
    while b"\r\n\r\n" not in buffer:
        chunk = recv_some(sock, deadline - time.monotonic())
        if not chunk:
            raise Closed(f"connection closed before a response head (got {buffer[:80]!r})")
        buffer += chunk
    head, rest = buffer.split(b"\r\n\r\n", 1)
    head_text = head.decode("latin-1")
    status = int(head_text.split(" ", 2)[1])
    length = 0
    for line in head_text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = recv_some(sock, deadline - time.monotonic())
        if not chunk:
            break
        rest += chunk
    return status, head_text, rest[:length], rest[length:]


def new_key():
    """A fresh Sec-WebSocket-Key: base64 of 16 random bytes."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    """Sec-WebSocket-Accept for `key` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def upgrade_request(path, host, key, extra_headers=()):
    """The bytes of an opening handshake request (RFC 6455 §4.1)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
             *extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_post_json(port, path, body, timeout=5.0):
    """POSTs `body` (a dict) as JSON; returns (status, parsed JSON body or None)."""
    payload = json.dumps(body).encode()
    sock = connect(port, timeout=timeout)
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                     .encode() + payload)
        status, _, response, _ = read_http_response(sock, timeout)
    finally:
        sock.close()
    try:
        return status, json.loads(response)
    except ValueError:
        return status, None


def login(port, username="alice", password="wonderland"):
    """Logs in to the chat (POST /login) and returns the one-time password."""
    status, body = http_post_json(port, "/login", {"username": username, "password": password})
    if status != 200 or not body or "otp" not in body:
        raise AssertionError(f"login as {username} failed: {status} {body}")
    return body["otp"]


def encode_frame(opcode, payload=b"", fin=True, masked=True, rsv=0, declared_length=None):
    """A frame's bytes (RFC 6455 §5.2). `declared_length` overrides the length field (the
    payload that follows is then whatever `payload` is); `rsv` sets the RSV1-3 bits (0-7)."""
    if isinstance(payload, str):
        payload = payload.encode()
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    # XOR as one big integer: fast enough for the megabytes of a flood.
    key = (mask * (len(payload) // 4 + 1))[:len(payload)]
    body = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
    body = body.to_bytes(len(payload), "big")
    return head + mask + body


def close_payload(code, reason=""):
    """A Close frame's payload: the code big-endian, then the UTF-8 reason."""
    return struct.pack("!H", code) + reason.encode()


class Frame:
    """One frame received from the server."""

    def __init__(self, fin, opcode, payload):
        self.fin, self.opcode, self.payload = fin, opcode, payload

    @property
    def close_code(self):
        """The status code of a Close frame (1005 when it carries none)."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else 1005

    @property
    def close_reason(self):
        """The reason of a Close frame."""
        return self.payload[2:].decode("utf-8", "replace")

    def __repr__(self):
        return f"Frame(fin={self.fin}, opcode={self.opcode}, {len(self.payload)} bytes)"


class Connection:
    """An upgraded connection: frames in and out, with timeouts. Server pings are answered when
    `auto_pong` is set (a member of the chat must show signs of life, RFC 6455 §5.5.2)."""

    def __init__(self, sock, leftover=b"", auto_pong=True):
        self.sock = sock
        self.buffer = leftover
        self.auto_pong = auto_pong
        self.send_lock = threading.Lock()

    def send(self, data):
        """Sends raw bytes (frames or garbage)."""
        with self.send_lock:
            self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kwargs):
        """Sends one masked frame (see encode_frame for the options)."""
        self.send(encode_frame(opcode, payload, **kwargs))

    def send_text(self, text):
        """Sends a complete masked text message."""
        self.send_frame(OP_TEXT, text.encode())

    def _parse(self):
        data = self.buffer
        if len(data) < 2:
            return None
        fin, opcode = bool(data[0] & 0x80), data[0] & 0x0F
        length, offset = data[1] & 0x7F, 2
        if data[1] & 0x80:
            raise AssertionError("the server sent a masked frame (RFC 6455 §5.1 forbids it)")
        if length == 126:
            if len(data) < 4:
                return None
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            if len(data) < 10:
                return None
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < offset + length:
            return None
        self.buffer = data[offset + length:]
        return Frame(fin, opcode, data[offset:offset + length])

    def next_frame(self, timeout=5.0):
        """The next frame, answering pings on the way if `auto_pong`.

        Raises Closed when TCP ends first, TimeoutError after `timeout` s.
        """
        deadline = time.monotonic() + timeout
        while True:
            frame = self._parse()
            if frame is not None:
                if frame.opcode == OP_PING and self.auto_pong:
                    self.send_frame(OP_PONG, frame.payload)
                    continue
                return frame
            chunk = recv_some(self.sock, deadline - time.monotonic())
            if not chunk:
                raise Closed("the server closed TCP")
            self.buffer += chunk

    def next_event(self, timeout=5.0):
        """The next chat event (a text frame parsed as JSON); other frames are skipped, except
        Close, which raises Closed with its code."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(deadline - time.monotonic())
            if frame.opcode == OP_TEXT:
                return json.loads(frame.payload)
            if frame.opcode == OP_CLOSE:
                raise Closed(f"close frame {frame.close_code} {frame.close_reason!r}")

    def wait_for_close(self, timeout=5.0):
        """Reads until the server's Close frame; returns it, or None when TCP ends without one
        (what a browser reports as 1006). Data frames on the way are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self.next_frame(deadline - time.monotonic())
            except Closed:
                return None
            if frame.opcode == OP_CLOSE:
                return frame

    def wait_for_eof(self, timeout=5.0):
        """Reads and drops everything until the server closes TCP; False on timeout."""
        deadline = time.monotonic() + timeout
        try:
            while recv_some(self.sock, deadline - time.monotonic()):
                pass
        except TimeoutError:
            return False
        return True

    def close(self, code=1000):
        """Answers or starts the closing handshake as a polite client would, then closes TCP."""
        try:
            self.send_frame(OP_CLOSE, close_payload(code))
        except OSError:
            pass
        self.sock.close()


def open_websocket(port, path="/", extra_headers=(), timeout=5.0, rcvbuf=None, auto_pong=True):
    """Connects and upgrades; returns a Connection. Raises AssertionError unless the server
    answers 101 with the right Sec-WebSocket-Accept."""
    sock = connect(port, timeout=timeout, rcvbuf=rcvbuf)
    key = new_key()
    sock.sendall(upgrade_request(path, f"127.0.0.1:{port}", key, extra_headers))
    status, head, _, rest = read_http_response(sock, timeout)
    if status != 101:
        sock.close()
        raise AssertionError(f"upgrade of {path} refused: {head.splitlines()[0]}")
    if f"Sec-WebSocket-Accept: {accept_for(key)}" not in head.split("\r\n"):
        sock.close()
        raise AssertionError("wrong Sec-WebSocket-Accept")
    return Connection(sock, rest, auto_pong)


def open_chat(port, username="alice", password="wonderland", rcvbuf=None):
    """Logs in and opens the chat's WebSocket; returns (Connection, its room_changed event)."""
    otp = login(port, username, password)
    connection = open_websocket(port, f"/ws?otp={otp}", rcvbuf=rcvbuf)
    event = connection.next_event()
    if event.get("type") != "room_changed":
        raise AssertionError(f"expected room_changed first, got {event}")
    return connection, event
