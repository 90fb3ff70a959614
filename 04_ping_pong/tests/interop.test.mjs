// Interop test: the npm `ws` client, a widely used implementation that is not ours, against the
// stage's echo server. Text with multi-byte UTF-8, binary with every byte value and of 1 MiB
// come back byte-exact (RFC 6455 §5.6), a ping is answered with its own payload (§5.5.2), and a
// close with 1000 ends cleanly with the code echoed (§5.5.1, §7). Run directly
// (`node interop.test.mjs`, not `node --test`) with WS_SERVER=/path/to/server, so that exit
// code 77 can mean "skipped".

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import { connect, receive, requireE2E, startServer, withTimeout } from '../../e2e/lib/harness.mjs';

requireE2E({ browser: false });

const kStepTimeoutMs = 5000;

/**
 * Runs `body(ws, server)` with a server of its own and a `ws` client connected to it, then
 * stops the server and checks that it exits with 0.
 */
async function withConnection(body) {
  const server = await startServer();
  let ws;
  let exitCode;
  try {
    ws = await connect(server.wsUrl);
    await body(ws, server);
  } finally {
    ws?.terminate();
    exitCode = await server.stop();
  }
  assert.equal(exitCode, 0, 'the server exits with 0 on SIGTERM');
}

/** Sends `data` and returns the echo, checking that its type matches. */
async function echo(ws, data, { binary }) {
  ws.send(data, { binary });
  const reply = await receive(ws, kStepTimeoutMs);
  assert.equal(reply.isBinary, binary, binary ? 'binary comes back binary' : 'text comes back text');
  return reply.data;
}

test('text with multi-byte UTF-8 is echoed exactly', { timeout: 30_000 }, async () => {
  await withConnection(async (ws) => {
    // Two-, three- and four-byte sequences, and the empty message.
    for (const text of ['héllo wörld', '你好，世界', '😀 🌍 𐍈', '']) {
      assert.equal(await echo(ws, text, { binary: false }), text);
    }
  });
});

test('binary with every byte value is echoed exactly', { timeout: 30_000 }, async () => {
  await withConnection(async (ws) => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.deepEqual(await echo(ws, everyByte, { binary: true }), everyByte);
  });
});

test('a 1 MiB binary message is echoed exactly', { timeout: 30_000 }, async () => {
  await withConnection(async (ws) => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; ++i) big[i] = (i * 31) & 0xff;
    const reply = await echo(ws, big, { binary: true });
    assert.equal(reply.length, big.length);
    assert.ok(reply.equals(big), 'the 1 MiB echo differs');
  });
});

test('a ping is answered with a pong carrying the same payload', { timeout: 30_000 }, async () => {
  await withConnection(async (ws) => {
    const payload = Buffer.from('are you there? ✓');
    const pong = once(ws, 'pong');
    ws.ping(payload);
    const [data] = await withTimeout(pong, kStepTimeoutMs, 'waiting for the pong');
    assert.deepEqual(data, payload);
  });
});

test('a close with 1000 ends cleanly with 1000 echoed', { timeout: 30_000 }, async () => {
  await withConnection(async (ws, server) => {
    const closed = new Promise((resolve) => ws.addEventListener('close', resolve));
    ws.close(1000, 'bye');
    const event = await withTimeout(closed, kStepTimeoutMs, 'waiting for the close event');
    assert.equal(event.code, 1000, 'the server echoes our code');
    assert.equal(event.wasClean, true, 'close frames went both ways before TCP closed');
    await server.waitForLine(/^#1 closed 1000 "bye" \(initiated by client\)$/, kStepTimeoutMs);
  });
});
