// Interop client for ProcessHub's echo handler, driven by ProcessHub.Tests (Interop/NodeWsInteropTests).
// Usage: node echo-client.mjs <ws-url> [count]
// Sends <count> text messages of 0 B to 64 KiB one at a time, checks every echo byte for byte, then closes with
// 1000 and waits for the server's close. Prints one JSON summary line and exits 0 only if all of that held.
// The ws package offers permessage-deflate by default; the server must decline it, and this checks it did.
import WebSocket from 'ws';

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 1000);
if (!url || !Number.isInteger(count) || count < 1) {
  console.error('usage: node echo-client.mjs <ws-url> [count]');
  process.exit(2);
}

function fail(message) {
  console.error(`echo-client: ${message}`);
  process.exit(1);
}

// A bounded run: a hang is a failure, not a stuck test.
setTimeout(() => fail('timed out'), 50_000).unref();

// Sizes: mostly small, some medium, every 100th at the 64 KiB limit, a few empty; about 3 MB in all.
function sizeOf(i) {
  if (i % 100 === 0) return 65536;
  if (i % 100 === 50) return 0;
  if (i % 20 === 7) return 1000 + ((i * 7919) % 15000);
  return (i * 37) % 300;
}

// Exactly n bytes of valid UTF-8 mixing 1- to 4-byte characters, so the server's UTF-8 check sees all kinds.
const palette = ['a', 'Z', '{', 'é', 'ß', 'κ', '€', 'ひ', '\u{1D11E}', '\u{1F600}', ' '];
function textOf(i, n) {
  const parts = [];
  let bytes = 0;
  let k = i;
  while (bytes < n) {
    k = (k * 1103515245 + 12345) % 2147483648;
    let piece = palette[k % palette.length];
    let size = Buffer.byteLength(piece);
    if (bytes + size > n) {
      piece = 'x';
      size = 1;
    }
    parts.push(piece);
    bytes += size;
  }
  return Buffer.from(parts.join(''), 'utf8');
}

const ws = new WebSocket(url);
let index = 0;
let expected = null;
let totalBytes = 0;

function sendNext() {
  expected = textOf(index, sizeOf(index));
  totalBytes += expected.length;
  ws.send(expected, { binary: false });
}

ws.on('open', () => {
  if (ws.extensions !== '') fail(`server accepted extensions: ${ws.extensions}`);
  if (ws.protocol !== '') fail(`server selected a subprotocol: ${ws.protocol}`);
  sendNext();
});

ws.on('message', (data, isBinary) => {
  if (isBinary) fail(`message ${index}: echo came back as binary`);
  if (Buffer.compare(data, expected) !== 0) {
    fail(`message ${index}: echo differs (sent ${expected.length} B, got ${data.length} B)`);
  }
  index += 1;
  if (index < count) {
    sendNext();
  } else {
    ws.close(1000, 'done');
  }
});

ws.on('error', (error) => fail(`error: ${error.message}`));

ws.on('close', (code, reason) => {
  if (index !== count) fail(`closed after ${index} of ${count} messages with ${code} ${reason}`);
  if (code !== 1000) fail(`closed with ${code} ${reason}, expected 1000`);
  console.log(JSON.stringify({ messages: index, bytes: totalBytes, closeCode: code }));
  process.exit(0);
});
