// Interop test: npm's `ws` as chat clients with the page's Origin: log in over HTTP, connect with
// the one-time password, chat, switch rooms; a foreign Origin is refused with 403 before the
// upgrade. With `perMessageDeflate`, ws negotiates compression and compresses every message both
// ways, in each of the server's modes. Run directly (`node interop.test.mjs`) with WS_SERVER set;
// exit code 77 means skipped.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { WebSocket, connect, receive, requireE2E, startServer, withTimeout } from '../../e2e/lib/harness.mjs';

requireE2E({ browser: false });

const kPasswords = { alice: 'wonderland', bob: 'builder' };

async function login(server, username) {
  const response = await fetch(new URL('/login', server.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: kPasswords[username] }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(response.status, 200);
  return (await response.json()).otp;
}

// The payload of the next event of the given type, skipping others.
async function nextEvent(ws, type) {
  for (let i = 0; i < 1000; ++i) {
    const event = JSON.parse((await receive(ws)).data);
    if (event.type === type) return event.payload;
  }
  throw new Error(`no ${type} event`);
}

test('two ws clients chat and rooms are isolated', { timeout: 30_000 }, async () => {
  const server = await startServer();
  try {
    const origin = server.url.replace(/\/$/, '');
    const open = async (user) => {
      const ws = await connectWithOrigin(`${server.wsUrl}ws?otp=${await login(server, user)}`, origin);
      await nextEvent(ws, 'room_changed');
      return ws;
    };
    const alice = await open('alice');
    const bob = await open('bob');
    alice.send(JSON.stringify({ type: 'send_message', payload: { message: 'hello bob' } }));
    assert.deepEqual(
        (({ from, message }) => ({ from, message }))(await nextEvent(bob, 'new_message')),
        { from: 'alice', message: 'hello bob' });

    bob.send(JSON.stringify({ type: 'change_room', payload: { room: 'random' } }));
    assert.equal((await nextEvent(bob, 'room_changed')).room, 'random');
    alice.send(JSON.stringify({ type: 'send_message', payload: { message: 'general only' } }));
    bob.send(JSON.stringify({ type: 'send_message', payload: { message: 'random only' } }));
    assert.equal((await nextEvent(bob, 'new_message')).message, 'random only');
    alice.close(1000);
    bob.close(1000);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a foreign Origin gets 403 before the upgrade', { timeout: 30_000 }, async () => {
  const server = await startServer();
  try {
    const url = `${server.wsUrl}ws?otp=${await login(server, 'alice')}`;
    const ws = new WebSocket(url, { origin: 'https://evil.example' });
    ws.on('error', () => {});  // the refusal also surfaces as an error event
    const [status] = await withTimeout(new Promise((resolve) => {
      ws.once('unexpected-response', (_, response) => resolve([response.statusCode]));
      ws.once('open', () => resolve(['opened']));
    }), 5000, 'waiting for the refusal');
    assert.equal(status, 403);
    ws.terminate();
  } finally {
    await server.stop();
  }
});

test('ws compresses the chat both ways in each compression mode', { timeout: 30_000 }, async () => {
  // ws offers "permessage-deflate; client_max_window_bits"; threshold 0 makes it compress every
  // message, however short (its default leaves messages under 1 KiB uncompressed).
  const agreed = {
    'no-context-takeover': 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    'context-takeover': 'permessage-deflate',
  };
  for (const [mode, extensions] of Object.entries(agreed)) {
    const server = await startServer(['--compression', mode]);
    try {
      const origin = server.url.replace(/\/$/, '');
      const open = async (user) => {
        const ws = await connectWithOrigin(`${server.wsUrl}ws?otp=${await login(server, user)}`,
                                           origin, { perMessageDeflate: { threshold: 0 } });
        assert.equal(ws.extensions, 'permessage-deflate', `${mode}: ws accepted the answer`);
        assert.equal(ws.upgradeHeaders['sec-websocket-extensions'], extensions, mode);
        await nextEvent(ws, 'room_changed');
        return ws;
      };
      const alice = await open('alice');
      const bob = await open('bob');
      for (let i = 0; i < 20; ++i) {
        alice.send(JSON.stringify({ type: 'send_message', payload: { message: `compressed ${i} ✓` } }));
        assert.equal((await nextEvent(bob, 'new_message')).message, `compressed ${i} ✓`, mode);
      }
      alice.close(1000);
      bob.close(1000);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  }
});

// connect() from the harness, with an Origin header like a browser page sends, and any other
// options of ws' WebSocket.
async function connectWithOrigin(url, origin, options = {}) {
  const ws = new WebSocket(url, { origin, ...options });
  ws.on('upgrade', (response) => { ws.upgradeHeaders = response.headers; });
  ws.queued = [];
  ws.receivers = [];
  ws.on('message', (data, isBinary) => {
    const message = { data: isBinary ? data : data.toString('utf8'), isBinary };
    const receiver = ws.receivers.shift();
    if (receiver) receiver(message);
    else ws.queued.push(message);
  });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_, response) => reject(new Error(`HTTP ${response.statusCode}`)));
  }), 5000, `opening ${url}`);
  return ws;
}
