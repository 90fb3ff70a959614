// A peer for the benchmarks: an echo server written with Node's `ws` (the npm package the course's
// e2e/ harness installs), one process, as in ws's own echo examples.
// Usage: node ws_echo.mjs --port P   (prints "listening on http://127.0.0.1:P" when ready)
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../e2e/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const portIndex = process.argv.indexOf('--port');
const port = portIndex > 0 ? Number(process.argv[portIndex + 1]) : 0;

// The same limit as our servers' default --max-message; no compression, as for every server here.
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 16 * 1024 * 1024,
  perMessageDeflate: false,
});
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`listening on http://127.0.0.1:${wss.address().port}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
