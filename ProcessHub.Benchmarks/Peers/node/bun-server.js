// Fan-out peer: Bun.serve, whose WebSockets are uWebSockets, broadcasting with server.publish (one topic that
// every connection subscribes to), the way Bun's documentation recommends for pub/sub fan-out.
// Same contract as ws-server.js: GET /ws (a {"type":"hello"} frame first), POST /publish, POST /gc (Bun.gc(true)),
// GET /count.
// Usage: bun bun-server.js PORT
const port = Number(process.argv[2] || 9004);
let open = 0;

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  idleTimeout: 0,
  async fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === '/ws') {
      if (srv.upgrade(req)) return undefined;
      return new Response('upgrade failed', { status: 400 });
    }
    if (req.method === 'POST' && url.pathname === '/publish') {
      const body = await req.text();
      srv.publish('all', body);
      return new Response('ok');
    }
    if (req.method === 'POST' && url.pathname === '/gc') {
      Bun.gc(true);
      return new Response('ok');
    }
    if (url.pathname === '/count') return new Response(String(open));
    return new Response('', { status: 404 });
  },
  websocket: {
    perMessageDeflate: false,
    idleTimeout: 0,
    // Generous, so that a burst is queued as it is in the other peers rather than dropped.
    backpressureLimit: 1024 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      open++;
      ws.subscribe('all');
      ws.send('{"type":"hello"}');
    },
    message() {},
    close() {
      open--;
    },
  },
});

console.log(`bun peer listening on 127.0.0.1:${server.port}`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
