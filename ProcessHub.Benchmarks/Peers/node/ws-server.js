// Fan-out peer: Node's http server + the ws package, written the way a user of ws would write a broadcast hub.
// Contract shared by every peer: GET /ws upgrades; POST /publish sends its body, as one text message, to every
// open connection and answers 200; POST /gc runs a full GC (node --expose-gc); GET /count answers the number of
// open connections; every new connection is sent {"type":"hello"} first (the connection storm waits for a first
// message, as ProcessHub's clients wait for process_list). Usage: node ws-server.js PORT
'use strict';
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 9003);
const HELLO = Buffer.from('{"type":"hello"}');
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: true });

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      for (const client of wss.clients) {
        if (client.readyState === WebSocket.OPEN) client.send(body, { binary: false });
      }
      res.writeHead(200, { 'Content-Length': '2' });
      res.end('ok');
    });
    return;
  }
  if (req.method === 'POST' && req.url === '/gc') {
    if (global.gc) global.gc();
    res.writeHead(200, { 'Content-Length': '2' });
    res.end('ok');
    return;
  }
  if (req.url === '/count') {
    const text = String(wss.clients.size);
    res.writeHead(200, { 'Content-Length': String(text.length) });
    res.end(text);
    return;
  }
  res.writeHead(404, { 'Content-Length': '0' });
  res.end();
});
server.keepAliveTimeout = 600000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

server.on('upgrade', (req, socket, head) => {
  if (!req.url.startsWith('/ws')) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.send(HELLO, { binary: false });
    wss.emit('connection', ws, req);
  });
});

server.listen(port, '127.0.0.1', () => console.log(`ws peer listening on 127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
