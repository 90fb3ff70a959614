// Interop test: npm's `ws` client, an independent RFC 6455 implementation, against the stage's
// server: subprotocol negotiation (§4.2.2), the three greetings, and a message the server prints.
// Run directly (`node interop.test.mjs`) with WS_SERVER=/path/to/server; exit 77 means skipped.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { connect, receive, requireE2E, startServer } from '../../e2e/lib/harness.mjs';

requireE2E({ browser: false });

test('ws negotiates a subprotocol, gets the greetings, and the server prints its message',
     { timeout: 30_000 }, async () => {
  const server = await startServer(['--protocol', 'chat,superchat']);
  try {
    const ws = await connect(server.wsUrl, ['chat']);
    assert.equal(ws.protocol, 'chat', 'the server picks the subprotocol we offered');
    const greetings = [];
    for (let i = 0; i < 3; ++i) greetings.push(await receive(ws));
    assert.ok(greetings.every((m) => !m.isBinary), 'greetings are text frames');
    assert.match(greetings[0].data, /^Welcome/);
    ws.send('hello from ws');
    await server.waitForLine(/#\d+ received text: hello from ws$/);
    ws.terminate();
  } finally {
    assert.equal(await server.stop(), 0, 'the server exits with 0 on SIGTERM');
  }
});

test('ws offering no subprotocol connects with none chosen', { timeout: 30_000 }, async () => {
  // (Offering only subprotocols the server does not speak is answered with none, which RFC 6455
  // allows; npm ws then refuses the connection itself, "Server sent no subprotocol", while
  // browsers accept it. The C++ tests check the server's side of that case.)
  const server = await startServer(['--protocol', 'chat']);
  try {
    const ws = await connect(server.wsUrl, []);
    assert.equal(ws.protocol, '');
    ws.terminate();
  } finally {
    await server.stop();
  }
});
