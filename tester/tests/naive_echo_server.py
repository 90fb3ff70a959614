#!/usr/bin/env python3
"""A deliberately naive WebSocket echo server, for calibrating the tester.

It does what a first attempt does: a correct handshake, frames unmasked and echoed, pings
answered, a close echoed. It skips every check a careful server makes: no UTF-8 validation, no
RSV or opcode checks, no fragmentation rules, no size limit. The tester must catch each of those.

usage: naive_echo_server.py PORT
"""
import base64
import hashlib
import socket
import struct
import sys
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


def read_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def handshake(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk or len(head) > 65536:
            raise ConnectionError("no request")
        head += chunk
    key = ""
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())


def send_frame(conn, first_byte, payload):
    if len(payload) < 126:
        header = struct.pack("!BB", first_byte, len(payload))
    elif len(payload) < 65536:
        header = struct.pack("!BBH", first_byte, 126, len(payload))
    else:
        header = struct.pack("!BBQ", first_byte, 127, len(payload))
    conn.sendall(header + payload)


def serve(conn):
    with conn:
        try:
            handshake(conn)
            while True:
                b0, b1 = read_exactly(conn, 2)
                length = b1 & 0x7F
                if length == 126:
                    length = struct.unpack("!H", read_exactly(conn, 2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", read_exactly(conn, 8))[0]
                key = read_exactly(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
                data = read_exactly(conn, length)
                payload = bytes(c ^ key[i % 4] for i, c in enumerate(data))
                opcode = b0 & 0x0F
                if opcode == 0x8:
                    send_frame(conn, 0x88, payload[:2])
                    return
                if opcode == 0x9:
                    send_frame(conn, 0x8A, payload)
                elif opcode != 0xA:
                    send_frame(conn, b0 & 0x8F, payload)  # echo the frame as it came
        except (ConnectionError, OSError, struct.error):
            return


def main():
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
