// npm's ws as an echo server on 127.0.0.1:PORT, a third-party peer for calibrating the tester:
// ./course check 03 --server 'node tester/tests/ws_echo_server.mjs {port}'
// Messages up to 16 MiB (the course's limit, or --max-size BYTES); no compression, or with
// --deflate its permessage-deflate (RFC 7692), for stage 08's compression group; exits 0 on
// SIGTERM after closing every connection with 1001.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../../e2e/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { deflate: { type: 'boolean' }, 'max-size': { type: 'string' } },
});
const server = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(positionals[0]),
  maxPayload: Number(values['max-size'] ?? 16 * 1024 * 1024),
  perMessageDeflate: values.deflate ?? false,
});
server.on('connection', (socket) => {
  // ws reports a peer's protocol error here after closing with the right code; without a
  // listener Node would end the process.
  socket.on('error', () => {});
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => {
  for (const client of server.clients) client.close(1001, 'going away');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
