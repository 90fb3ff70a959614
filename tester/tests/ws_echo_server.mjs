// npm's ws as an echo server on 127.0.0.1:PORT, a third-party peer for calibrating the tester:
// ./course check 03 --server 'node tester/tests/ws_echo_server.mjs {port}'
// Messages up to 16 MiB (the course's limit), no compression; exits 0 on SIGTERM after closing
// every connection with 1001.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../e2e/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2]),
  maxPayload: 16 * 1024 * 1024,
  perMessageDeflate: false,
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
