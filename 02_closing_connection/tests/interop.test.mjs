// Interop test: npm's `ws` client against the stage's server: a client-initiated close is echoed
// and clean, a vanished client is logged as 1006, and a shutdown reaches the client as 1001.
// Run directly (`node interop.test.mjs`) with WS_SERVER set; exit code 77 means skipped.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';

import { connect, requireE2E, startServer, withTimeout } from '../../e2e/lib/harness.mjs';

requireE2E({ browser: false });

// Resolves to [code, reason] of the socket's close event.
async function closed(ws) {
  const [code, reason] = await withTimeout(once(ws, 'close'), 10_000, 'waiting for close');
  return [code, reason.toString()];
}

test('ws closes with 4000 and sees its code echoed', { timeout: 30_000 }, async () => {
  const server = await startServer();
  try {
    const ws = await connect(server.wsUrl);
    ws.close(4000, 'done here');
    assert.deepEqual(await closed(ws), [4000, '']);
    await server.waitForLine(/^#1 closed 4000 "done here" \(initiated by client\)$/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a client that vanishes is logged as 1006 and the next one is served', { timeout: 30_000 },
     async () => {
  const server = await startServer();
  try {
    const gone = await connect(server.wsUrl);
    gone.terminate();  // TCP goes away without a close frame
    await server.waitForLine(/^#1 closed 1006 \(abnormal closure/);
    const next = await connect(server.wsUrl);
    next.close(1000);
    assert.deepEqual(await closed(next), [1000, '']);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a shutdown reaches the client as 1001 "server shutting down"', { timeout: 30_000 },
     async () => {
  const server = await startServer();
  const ws = await connect(server.wsUrl);
  const exitCode = server.stop();
  assert.deepEqual(await closed(ws), [1001, 'server shutting down']);
  assert.equal(await exitCode, 0);
});
