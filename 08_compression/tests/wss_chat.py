"""Two chat users over wss:// (RFC 6455 §4.1, §10.6) with a third-party client: Debian's
python3-websockets 10.4 (asyncio API), trusting exactly the test's self-signed certificate.

Usage: /usr/bin/python3 wss_chat.py PORT CA_FILE ALICE_OTP BOB_OTP
The C++ test (tls_test.cpp) starts the server with TLS and logs both users in over HTTPS; this
script opens their WebSockets from the page's https origin, and checks that a message reaches
both, that a burst of long messages (several TLS records per batch) arrives whole and in order,
and that both close cleanly with 1000. Exits 0 on success, 1 on failure, 77 (skipped) when
python3-websockets is missing unless WS_REQUIRE_E2E=1.
"""

import asyncio
import json
import os
import ssl
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e",
                                "lib"))
import harness  # pylint: disable=wrong-import-position

websockets = harness.require_websockets()

STEP_TIMEOUT = 5.0
"""The longest any single step (connect, an event, a close) may take, in seconds."""

BURST = 15
"""Messages bob sends at once: within the server's rate limit (a burst of 20)."""


def event(type_, payload):
    return json.dumps({"type": type_, "payload": payload}, ensure_ascii=False)


async def next_event(ws, type_):
    """The payload of the next event of `type_`, skipping others (presence, ...)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
        if message["type"] == type_:
            return message["payload"]


async def chat(port, ca_file, alice_otp, bob_otp):
    # Verifies the certificate chain against the test's certificate and that 127.0.0.1 is in
    # its subjectAltName, as a browser would; no verification is switched off.
    context = ssl.create_default_context(cafile=ca_file)
    origin = f"https://127.0.0.1:{port}"  # the page's own origin: allowed by default with TLS

    async def connect(otp):
        return await asyncio.wait_for(
            websockets.connect(f"wss://127.0.0.1:{port}/ws?otp={otp}", ssl=context, origin=origin,
                               compression=None),
            STEP_TIMEOUT)

    alice = await connect(alice_otp)
    assert (await next_event(alice, "room_changed"))["room"] == "general"
    bob = await connect(bob_otp)
    assert (await next_event(bob, "room_changed"))["members"] == ["alice", "bob"]

    await alice.send(event("send_message", {"message": "hello over wss"}))
    for ws in (alice, bob):
        payload = await next_event(ws, "new_message")
        assert (payload["from"], payload["message"]) == ("alice", "hello over wss"), payload

    # 900 two-byte characters each: the server's batches span several 16 KiB TLS records.
    burst = [f"{i:02} " + "é" * 900 for i in range(BURST)]
    for text in burst:
        await bob.send(event("send_message", {"message": text}))
    received = [(await next_event(alice, "new_message"))["message"] for _ in burst]
    assert received == burst, "the burst arrived incomplete or out of order"

    for ws in (alice, bob):
        await asyncio.wait_for(ws.close(code=1000, reason="bye"), STEP_TIMEOUT)
        assert ws.close_code == 1000, ws.close_code
    print(f"ok: alice and bob chatted over wss://127.0.0.1:{port}, {BURST + 1} messages",
          flush=True)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: wss_chat.py PORT CA_FILE ALICE_OTP BOB_OTP")
    harness.start_watchdog(30)
    asyncio.run(chat(int(sys.argv[1]), *sys.argv[2:]))


if __name__ == "__main__":
    main()
