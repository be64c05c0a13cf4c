#!/usr/bin/env node
// Cluster chaos soak: three ProcessHub hubs on one Redis under load, with faults injected all along, and the
// scale-out promises (docs/protocol.md section 11, docs/scale-out.md) checked while it runs and at the end.
//
//   ./run.sh chaos [--minutes N] [options]        builds the hub, installs redis-server and ws, then runs this
//   node ProcessHub.Benchmarks/Chaos/cluster-chaos.js [options]
//
// What runs (all on 127.0.0.1, ports chosen free at start):
//   - one redis-server (appendonly yes, appendfsync always, no snapshots), data in RUN/redis;
//   - three hubs (the Release ProcessHub.dll) on that Redis, one JWT secret made at random for this run and handed
//     over in a private file (never on a command line, never printed);
//   - tabs: --tabs WebSockets per hub for three users, half authenticated by ?token=, half by header; a closed tab
//     reconnects to a random live hub and resumes as docs/protocol.md 5.2 says (process_list, then subscribe with
//     since and epoch for each process whose listed seq is ahead of what it holds); when a killed hub is up again,
//     one tab of each user moves to it from another hub and resumes there;
//   - workers: --workers HTTP producers, each starting a process on a random hub, reporting 15-50 progress events
//     --report-ms apart (each on a random live hub) and completing it (worker 0: 400-800 reports, a process that
//     outlives hub restarts); 503s and connection errors are retried on
//     another hub, and an attempt whose answer never came counts as "ambiguous" (it may or may not have landed);
//     each start carries an Idempotency-Key of its own, the same on its retries;
//   - benchmark runs (POST /api/benchmark, in-process producers of the hub that takes them) every 4-9 s;
//   - a canceller: every 2-5 s a random tab sends cancel_process for a running process it knows.
// Faults, one every --gap seconds (3-7), kinds drawn evenly from --faults:
//   kill9        kill -9 one hub, restart it 0.3-2 s later
//   stop         SIGSTOP one hub for 1-3 s, then SIGCONT
//   pubsub       redis-cli CLIENT KILL TYPE pubsub (every hub's subscription drops)
//   redis        stop Redis (SIGTERM or SIGKILL) for 2-6 s, restart it on the same append-only file
//   combo        kill -9 one hub and SIGKILL Redis; restart the hub while Redis is down (it waits, --redis-start-wait
//                20), Redis back 2-5 s later
//   pausepubsub  SIGSTOP one hub, CLIENT KILL TYPE pubsub while it is stopped, SIGCONT 0.8 s later
// Then the faults stop, the workers finish their processes, everything settles (15 s, and up to 30 s more for tabs
// to be connected), and the final checks run.
//
// Invariants (a violation fails the run; "notes" are counted but expected under faults):
//   while it runs, per tab: every message is JSON; no event before the connection's process_list; the same
//   (epoch, process, seq) is byte-identical wherever it is seen (every tab, every hub); no seq twice on one
//   connection; live seqs of a process only go up and are above the listed seq; a process the tab had not known
//   starts with process_started seq 1; nothing after a terminal event; the epoch never changes; a new process_list
//   holds every process the tab knew; a resume is recovered: true with replayed = listed seq - since and every
//   replayed seq above since; never not_found for a subscribe or cancel (decision 56); a resume refused with
//   unavailable or rate_limited is retried and answered within 60 tries;
//   while it runs, per worker: no HTTP 5xx other than 503; every start is 201 and every complete 200 (or 409
//   because it was cancelled, or already completed by an ambiguous attempt); a progress report is 200, or 409 only
//   when cancel was requested, never 404; no hub exits unless killed by the driver;
//   at the end: every tab is connected; the three hubs list the same processes with the same status, seq and
//   progress, and GET /api/processes/{id} on every hub agrees; every tab holds what the hubs hold (status, seq,
//   progress) and received every non-progress event of it (progress may be coalesced); every acknowledged event of
//   a worker is kept (final seq >= acknowledged, <= acknowledged + ambiguous + 1 for a cancel), an acknowledged
//   complete is completed, a 409-cancelled process is cancelled, nothing is left running unexplained; no process of
//   a worker's type that no worker was answered with (a start doubled by its retry); no benchmark
//   is left running; a benchmark whose hub was killed under it ended with hub_lost (or a tab's cancel), and only
//   then, 3 s to 7.5 s after the kill, or within 8.5 s of Redis being back when Redis was away (protocol 11.6);
//   no hub log has a stack trace, a token or the secret.
//
// Options (--name value or --name=value):
//   --minutes N       how long faults are injected (default 5; fractions allowed); the run takes ~30-60 s more
//   --hub PATH        the hub's ProcessHub.dll (default ProcessHub/bin/Release/net10.0/ProcessHub.dll in the repo)
//   --run DIR         where logs, Redis data and summary.json go (default artifacts/chaos/<UTC timestamp> in the
//                     repo); must not exist or be empty
//   --seed N          seeds every choice the driver makes (which fault, which hub, delays); default random, printed.
//                     Timing still varies, so a seed repeats the plan, not the interleaving
//   --faults LIST     comma-separated fault kinds (default kill9,pubsub,redis,stop,combo,pausepubsub; empty: none)
//   --gap MIN-MAX     seconds between faults (default 3-7)
//   --tabs N          tabs per hub (default 10)
//   --workers N       HTTP workers (default 5)
//   --report-ms N     mean pause between a worker's progress reports (default 40)
//   --no-bench        start no benchmark runs
// Output: the journal (faults, hub and Redis starts and exits, a status line every 10 s, violations) on stdout and
// in RUN/journal.log, hub and Redis output in RUN/logs, a summary on stdout and in RUN/summary.json.
// Exit code: 0 when every invariant held, 1 when one broke or the run could not finish (or was interrupted),
// 2 for a bad command line. Every process it started is stopped on exit, also on Ctrl+C.
'use strict';
const { spawn, execFileSync } = require('child_process');
const { createRequire } = require('module');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const USERS = ['alice', 'bob', 'carol'];
const ALL_FAULTS = ['kill9', 'pubsub', 'redis', 'stop', 'combo', 'pausepubsub'];

// ---------- Command line ----------

function usageError(message) {
  console.error(`cluster-chaos: ${message} (see the comment at the top of ${path.relative(process.cwd(), __filename)})`);
  process.exit(2);
}

function parseOptions(argv) {
  const options = {
    minutes: 5, hub: path.join(REPO, 'ProcessHub', 'bin', 'Release', 'net10.0', 'ProcessHub.dll'), run: null,
    seed: crypto.randomInt(1, 2 ** 31), faults: ALL_FAULTS, gap: [3, 7], tabs: 10, workers: 5, reportMs: 40, bench: true,
  };
  const number = (name, text, min) => {
    const n = Number(text);
    if (text === undefined || text === '' || !Number.isFinite(n) || n < min) usageError(`${name} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let [name, value] = argv[i].split(/=(.*)/s);
    const takeValue = () => value !== undefined ? value : (i + 1 < argv.length ? argv[++i] : usageError(`${name} needs a value`));
    switch (name) {
      case '--minutes': options.minutes = number(name, takeValue(), 0); break;
      case '--hub': options.hub = path.resolve(takeValue()); break;
      case '--run': options.run = path.resolve(takeValue()); break;
      case '--seed': options.seed = Math.floor(number(name, takeValue(), 0)); break;
      case '--faults': {
        options.faults = takeValue().split(',').map(s => s.trim()).filter(Boolean);
        const unknown = options.faults.filter(f => !ALL_FAULTS.includes(f));
        if (unknown.length) usageError(`unknown fault kind ${unknown.join(', ')}; kinds: ${ALL_FAULTS.join(', ')}`);
        break;
      }
      case '--gap': {
        const gap = takeValue().split('-').map(Number);
        if (gap.length !== 2 || !gap.every(Number.isFinite) || gap[0] < 0 || gap[1] < gap[0]) usageError('--gap is MIN-MAX seconds, e.g. 3-7');
        options.gap = gap;
        break;
      }
      case '--tabs': options.tabs = Math.floor(number(name, takeValue(), 1)); break;
      case '--workers': options.workers = Math.floor(number(name, takeValue(), 1)); break;
      case '--report-ms': options.reportMs = number(name, takeValue(), 0); break;
      case '--no-bench': options.bench = false; break;
      case '--help': case '-h':
        // The header comment is the help: every line from the shebang to the first that is not a comment.
        const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1);
        console.log(lines.slice(0, lines.findIndex(l => !l.startsWith('//'))).map(l => l.slice(3)).join('\n'));
        process.exit(0);
        break;
      default: usageError(`unknown option ${argv[i]}`);
    }
  }
  if (!options.run) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    options.run = path.join(REPO, 'artifacts', 'chaos', stamp);
  }
  return options;
}

const OPTIONS = parseOptions(process.argv.slice(2));
// Keys of this run's starts (Idempotency-Key) are unique to it.
const RUN_ID = crypto.randomBytes(4).toString('hex');
const RUN = OPTIONS.run;
const DURATION_MS = OPTIONS.minutes * 60e3;

// The ws package the test suite already installs (./run.sh test or ./run.sh chaos: npm ci in ProcessHub.Tests/node).
let WebSocket;
try {
  WebSocket = createRequire(path.join(REPO, 'ProcessHub.Tests', 'node', 'package.json'))('ws');
} catch {
  console.error('cluster-chaos: the ws package is missing; run ./run.sh chaos, or (cd ProcessHub.Tests/node && npm ci)');
  process.exit(1);
}
if (!fs.existsSync(OPTIONS.hub)) {
  console.error(`cluster-chaos: no hub binary at ${OPTIONS.hub}; build it (dotnet build -c Release ProcessHub) or give --hub`);
  process.exit(1);
}
if (fs.existsSync(RUN) && fs.readdirSync(RUN).length > 0) usageError(`run directory ${RUN} exists and is not empty`);
fs.mkdirSync(path.join(RUN, 'logs'), { recursive: true });
fs.mkdirSync(path.join(RUN, 'redis'), { recursive: true });

// ---------- Seeded randomness ----------

// mulberry32: small and good enough to make a seed repeat the driver's choices.
let rngState = OPTIONS.seed >>> 0;
function random() {
  rngState = (rngState + 0x6D2B79F5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo, hi) => lo + random() * (hi - lo);
const pickOne = items => items[Math.floor(random() * items.length)];
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// ---------- Secret and tokens ----------

const SECRET = crypto.randomBytes(32).toString('hex');
// The hubs read the secret from a file only this user can read, outside the run directory, removed on exit: it
// must not show in `ps` on a shared machine or stay behind with the logs.
const SECRET_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'processhub-chaos-'));
const SECRET_FILE = path.join(SECRET_DIR, 'jwt-secret');
fs.writeFileSync(SECRET_FILE, SECRET, { mode: 0o600 });

function makeToken(subject) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const payload = Buffer.from(JSON.stringify({ sub: subject, exp: now + 7200, iat: now })).toString('base64url');
  const signed = `${header}.${payload}`;
  return `${signed}.${crypto.createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
}
const TOKENS = Object.fromEntries(USERS.map(u => [u, makeToken(u)]));
// What must never appear in a hub's log: any signature, the start of any token, the secret.
const TOKEN_TRACES = [...Object.values(TOKENS).map(t => t.split('.')[2].slice(0, 20)), ...Object.values(TOKENS).map(t => t.slice(0, 40)), SECRET];
// And what the driver itself blanks out of anything it prints or writes (a hub's log line quoted in a violation).
function redact(text) {
  for (const s of [SECRET, ...Object.values(TOKENS), ...TOKEN_TRACES]) text = text.split(s).join('[redacted]');
  return text;
}

// ---------- Journal, violations, notes ----------

const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000; // seconds since the start; every time in the journal and checks
const journal = fs.createWriteStream(path.join(RUN, 'journal.log'));
function log(...parts) {
  const line = redact(`[${elapsed().toFixed(3)}] ${parts.join(' ')}`);
  journal.write(line + '\n');
  console.log(line);
}

const violations = [];
function violation(kind, detail) {
  violations.push({ t: elapsed(), kind, detail });
  log('VIOLATION', kind, JSON.stringify(detail).slice(0, 1500));
}
// Things expected under faults (a tab closed by a stopped hub, a 503, a coalesced progress event): counted, with
// the first few samples, so that a change in their numbers can be seen.
const notes = {};
function note(kind, detail) {
  const entry = notes[kind] ??= { count: 0, samples: [] };
  entry.count++;
  if (entry.samples.length < 8) entry.samples.push({ t: elapsed(), ...detail });
}

// ---------- Processes the driver starts ----------

const children = new Set(); // every child process still running, so that nothing outlives the driver
function spawnChild(command, args, logFile) {
  const out = fs.openSync(logFile, 'a');
  // detached: its own process group, so that Ctrl+C reaches the driver only, which then stops it in order.
  const child = spawn(command, args, { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise(resolve => child.once('exit', resolve));
}
async function stopChild(child, graceMs) {
  if (!children.has(child)) return;
  try { child.kill('SIGCONT'); child.kill('SIGTERM'); } catch { }
  const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { } }, graceMs);
  await exited(child);
  clearTimeout(timer);
}

// Free ports: all four held open at once (so none is handed out twice), then closed for the hubs and Redis to take.
async function freePorts(count) {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map(s => s.address().port);
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
  return ports;
}

// ---------- Redis ----------

let redisPort = 0;
let redis = null; // the running redis-server, null while it is down
let redisStarts = 0;
const redisBackAt = []; // elapsed() each time Redis answered PING again after a fault

function startRedis() {
  if (shuttingDown) return; // a fault's restart that comes after Ctrl+C
  redisStarts++;
  const child = spawnChild('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', path.join(RUN, 'redis'),
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], path.join(RUN, 'logs', 'redis.log'));
  redis = child;
  child.on('exit', (code, signal) => {
    log(`redis exited code=${code} sig=${signal}`);
    if (redis === child) redis = null;
  });
}
function redisCli(...args) {
  try {
    return execFileSync('redis-cli', ['-p', String(redisPort), ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    return 'ERR ' + e.message;
  }
}
async function waitForRedis() {
  for (let i = 0; i < 100; i++) {
    if (redisCli('ping').trim() === 'PONG') return;
    await sleep(100);
  }
  throw new Error('redis did not come up within 10 s');
}
async function restartRedis() {
  startRedis();
  await waitForRedis();
  redisBackAt.push(elapsed());
  log('redis back');
}

// ---------- Hubs ----------

let stopping = false; // the run is ending: exits and closes from now on are ours
let shuttingDown = false; // the hubs and Redis are being stopped: nothing is started again
let stopWorkers = false; // workers, benchmark starter and canceller finish what they are doing
const hubs = [0, 1, 2].map(i => ({ i, port: 0, proc: null, starts: 0, expectingExit: false, up: false, killedAt: 0 }));
const hubKills = []; // { hub, t } for each kill -9, to judge hub_lost

function startHub(hub) {
  if (shuttingDown) return;
  hub.starts++;
  const logFile = path.join(RUN, 'logs', `hub${hub.i}.log`);
  fs.appendFileSync(logFile, `\n===== [${elapsed().toFixed(3)}] start #${hub.starts} =====\n`);
  const child = spawnChild('dotnet', [OPTIONS.hub, '--port', String(hub.port), '--redis', `127.0.0.1:${redisPort}`,
    '--jwt-secret-file', SECRET_FILE, '--data-dir', path.join(RUN, `data${hub.i}`),
    // Limits out of the way: the load is the point, not the quotas. --redis-start-wait: a hub restarted while
    // Redis is down (the combo fault) waits for it instead of exiting.
    '--max-processes-per-user', '5000', '--api-rate-limit', '2000', '--redis-start-wait', '20'], logFile);
  hub.proc = child;
  hub.expectingExit = false;
  hub.up = false;
  child.on('exit', (code, signal) => {
    log(`hub${hub.i} (pid ${child.pid}) exited code=${code} sig=${signal}${hub.expectingExit ? ' (killed by us)' : ''}`);
    if (!hub.expectingExit && !stopping) violation('hub-crash', { hub: hub.i, code, signal, start: hub.starts });
    if (hub.proc === child) { hub.proc = null; hub.up = false; }
  });
  markUpWhenHealthy(hub, child);
}
async function markUpWhenHealthy(hub, child) {
  for (let i = 0; i < 300 && hub.proc === child; i++) {
    try {
      const r = await request(hub.port, 'GET', '/healthz', null, null, 1000);
      if (r.status === 200) {
        hub.up = true;
        log(`hub${hub.i} up (start #${hub.starts})`);
        if (hub.starts > 1) moveTabsTo(hub);
        return;
      }
    } catch { }
    await sleep(100);
  }
}
const tabs = []; // every tab of the run

// A restarted hub gets tabs at once (one of each user, from the other hubs), so that resumes meet what it loaded
// while processes kept reporting, not only what it applied since.
function moveTabsTo(hub) {
  if (stopping) return;
  for (const user of USERS) {
    const tab = tabs.find(t => t.user === user && t.connected && t.hub !== hub && !t.moveTo);
    if (!tab) continue;
    tab.moveTo = hub;
    note('tab-moved-to-restarted-hub', { tab: tab.id, hub: hub.i });
    tab.ws.close(1000, 'moving to a restarted hub');
  }
}
const liveHubs = () => hubs.filter(h => h.proc && h.up);
// Where a client goes next: a live hub if there is one, else any (it will be refused and retry).
const anyHub = () => pickOne(liveHubs().length ? liveHubs() : hubs);

async function killHub(hub) {
  hub.expectingExit = true;
  hub.killedAt = Date.now();
  hub.up = false;
  hubKills.push({ hub: hub.i, t: elapsed() });
  const child = hub.proc;
  child.kill('SIGKILL');
  await exited(child);
}

// ---------- HTTP ----------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function request(port, method, urlPath, token, body, timeoutMs = 5000, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const data = body == null ? null : Buffer.from(JSON.stringify(body));
    const headers = { ...extraHeaders };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent, timeout: timeoutMs }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// ---------- Every event frame seen by any tab ----------

const frameText = new Map(); // "epoch|process|seq" -> the frame as first received
const eventType = new Map(); // "process|seq" -> type, to tell a missed progress event from a missed terminal one
const terminalSeenAt = new Map(); // process -> { t, type, code } when a tab first saw its terminal event
const cancelSentAt = new Map(); // process -> elapsed() of the first cancel_process a tab sent for it
const epochsSeen = new Set();

// Every hub sends the same event as the same bytes (the engine stores it as sent): a difference is a bug.
function recordFrame(epoch, event, raw, where) {
  const key = `${epoch}|${event.process_id}|${event.seq}`;
  const first = frameText.get(key);
  if (first === undefined) {
    frameText.set(key, raw);
    eventType.set(`${event.process_id}|${event.seq}`, event.type);
    if (event.type !== 'process_progress' && event.type !== 'process_started') {
      terminalSeenAt.set(event.process_id, { t: elapsed(), type: event.type, code: event.error && event.error.code });
    }
  } else if (first !== raw) {
    violation('frame-content-differs', { key, where, first, now: raw });
  }
}

// ---------- Tabs ----------

// A browser tab: one WebSocket at a time, the processes of its user as it believes them to be, and a reconnect
// with resume whenever its connection ends.
class Tab {
  constructor(id, user, firstHub) {
    this.id = id;
    this.user = user;
    this.firstHub = firstHub;
    this.epoch = null;
    // process -> { seq, status, progress (JSON text), base: seqs up to it came in a list, seen: seqs received }
    this.procs = new Map();
    this.ws = null;
    this.connNo = 0; // which connection is current: events of an older one are ignored
    this.hub = null;
    this.connected = false;
    this.closedForGood = false;
    this.reconnects = 0;
    this.moveTo = null; // a hub to reconnect to when the driver closes this tab on purpose
  }

  connect(hub) {
    if (this.closedForGood) return;
    const connNo = ++this.connNo;
    this.hub = hub;
    // Both ways of authenticating a WebSocket: ?token= (what a browser does) and the Authorization header.
    const byQuery = this.id % 2 === 0;
    const url = `ws://127.0.0.1:${hub.port}/ws` + (byQuery ? `?token=${TOKENS[this.user]}` : '');
    const ws = new WebSocket(url, byQuery ? {} : { headers: { Authorization: 'Bearer ' + TOKENS[this.user] } });
    this.ws = ws;
    // Per connection: lists received, last live seq per process, seqs received, resumes asked, the last list.
    this.conn = { lists: 0, lastLive: new Map(), received: new Map(), resumes: new Map(), listed: null };
    ws.on('message', data => { if (this.connNo === connNo) this.onMessage(data.toString()); });
    ws.on('error', () => { }); // the close that follows is what counts
    ws.on('close', (code, reason) => {
      if (this.connNo !== connNo) return;
      this.connected = false;
      if (stopping) return;
      const moveTo = this.moveTo;
      this.moveTo = null;
      this.reconnects++;
      if (moveTo) {
        setTimeout(() => this.connect(moveTo.proc && moveTo.up ? moveTo : anyHub()), 50);
        return;
      }
      // Expected: the hub was killed or is being restarted. Anything else (a stopped hub, Redis away) is noted.
      const killedRecently = hub.killedAt && Date.now() - hub.killedAt < 3000;
      if (!(hub.proc === null || hub.expectingExit || killedRecently)) {
        note('tab-closed-hub-alive', { tab: this.id, hub: hub.i, why: `${code} ${reason}`, redisUp: !!redis });
      }
      setTimeout(() => this.connect(anyHub()), between(100, 700));
    });
  }

  onMessage(raw) {
    let m;
    try { m = JSON.parse(raw); } catch { violation('bad-json', { tab: this.id, raw }); return; }
    if (m.type === 'process_list') return this.onList(m);
    if (m.type === 'subscribed') return this.onSubscribed(m);
    if (m.type === 'error') return this.onError(m);
    if (m.type === 'pong' || m.type === 'unsubscribed') return;
    if (typeof m.type !== 'string' || !m.type.startsWith('process_')) { note('unknown-msg', { tab: this.id, raw: raw.slice(0, 200) }); return; }
    this.onEvent(m, raw);
  }

  onError(m) {
    const c = this.conn;
    note('ws-error-' + m.code, { tab: this.id, hub: this.hub.i, m });
    // A hub away from Redis cannot look up a process it has not seen: 'unavailable' (decision 56) is retryable, as
    // is a rate limit. Resend the resume's subscribe, as a client would.
    if ((m.code === 'unavailable' || m.code === 'rate_limited') && m.request_id && m.request_id.startsWith('r-')) {
      const resume = c.resumes.get(m.process_id);
      if (resume && !resume.answered) {
        resume.retries = (resume.retries || 0) + 1;
        if (resume.retries > 60) {
          violation('resume-subscribe-never-answered', { tab: this.id, hub: this.hub.i, pid: m.process_id, code: m.code });
          return;
        }
        const connNo = this.connNo, ws = this.ws;
        setTimeout(() => {
          if (this.connNo === connNo && ws.readyState === WebSocket.OPEN) {
            ws.send(JSON.stringify({ type: 'subscribe', process_id: m.process_id, since: resume.since, epoch: this.epoch, request_id: m.request_id }));
          }
        }, between(500, 1000));
        note('ws-resume-subscribe-retried-' + m.code, { tab: this.id, hub: this.hub.i, pid: m.process_id });
      }
    }
    // Every process a tab names exists somewhere in the cluster: not_found means a hub did not catch up.
    if (m.code === 'not_found') violation('ws-not_found', { tab: this.id, hub: this.hub.i, m });
  }

  onEvent(m, raw) {
    const c = this.conn;
    if (c.lists === 0) { violation('event-before-list', { tab: this.id, raw }); return; }
    recordFrame(this.epoch, m, raw, `tab${this.id}@hub${this.hub.i}`);
    const pid = m.process_id;
    let received = c.received.get(pid);
    if (!received) c.received.set(pid, received = new Set());
    if (received.has(m.seq)) violation('duplicate-on-connection', { tab: this.id, hub: this.hub.i, pid, seq: m.seq, type: m.type });
    received.add(m.seq);

    // The first `replayed` events after a resume's `subscribed` are the replay; the rest are live.
    let isReplay = false;
    const resume = c.resumes.get(pid);
    if (resume && resume.left > 0) {
      isReplay = true;
      resume.left--;
      if (m.seq <= resume.since) violation('replay-at-or-below-since', { tab: this.id, pid, seq: m.seq, since: resume.since });
    }
    if (!isReplay) {
      const last = c.lastLive.get(pid);
      if (last !== undefined && m.seq <= last) violation('live-seq-backwards', { tab: this.id, hub: this.hub.i, pid, seq: m.seq, last });
      if (last !== undefined && m.seq > last + 1) note('live-seq-jump', { tab: this.id, hub: this.hub.i, pid, from: last, to: m.seq, type: m.type });
      c.lastLive.set(pid, m.seq);
      const listedSeq = c.listed && c.listed.get(pid);
      if (listedSeq !== undefined && m.seq <= listedSeq) violation('live-event-already-in-list', { tab: this.id, hub: this.hub.i, pid, seq: m.seq, listedSeq });
    }

    let p = this.procs.get(pid);
    if (!p) {
      // A process this tab has not known: it started after the list, so the first thing is its start.
      if (m.type !== 'process_started' || m.seq !== 1) {
        violation('unknown-process-first-event-not-started', { tab: this.id, hub: this.hub.i, pid, seq: m.seq, type: m.type, replay: isReplay });
        p = { seq: 0, status: 'running', progress: null, base: m.seq - 1, seen: new Set() };
      } else {
        p = { seq: 0, status: 'running', progress: null, base: 0, seen: new Set() };
      }
      this.procs.set(pid, p);
    }
    p.seen.add(m.seq);
    if (m.seq > p.seq) {
      if (p.status !== 'running' && p.status !== undefined) violation('event-after-terminal', { tab: this.id, pid, seq: m.seq, had: p.seq, status: p.status });
      p.seq = m.seq;
      if (m.type === 'process_progress' || m.type === 'process_started') p.progress = JSON.stringify(m.progress);
      if (m.type === 'process_completed') p.status = 'completed';
      if (m.type === 'process_failed') { p.status = 'failed'; p.error = m.error; }
      if (m.type === 'process_cancelled') p.status = 'cancelled';
    } else if (m.seq < p.seq && !isReplay) {
      note('older-live-event-than-state', { tab: this.id, hub: this.hub.i, pid, seq: m.seq, state: p.seq });
    }
  }

  onList(m) {
    const c = this.conn;
    c.lists++;
    epochsSeen.add(m.epoch);
    if (c.lists === 1) this.connected = true;
    else note('extra-process-list', { tab: this.id, hub: this.hub.i, epoch: m.epoch, same: m.epoch === this.epoch });
    c.listed = new Map(m.processes.map(e => [e.process_id, e.seq]));
    if (this.epoch !== null && m.epoch !== this.epoch) {
      // Redis keeps its data (appendfsync always), so the cluster's epoch must survive every fault.
      violation('epoch-changed', { tab: this.id, hub: this.hub.i, old: this.epoch, new: m.epoch, redisStarts });
      this.procs.clear();
    }
    this.epoch = m.epoch;
    const toResume = [];
    const listedIds = new Set();
    for (const e of m.processes) {
      listedIds.add(e.process_id);
      const p = this.procs.get(e.process_id);
      if (!p) {
        this.procs.set(e.process_id, { seq: e.seq, status: e.status, progress: JSON.stringify(e.progress), base: e.seq, seen: new Set() });
        continue;
      }
      if (e.seq > p.seq) {
        // On a new connection, ask for what we missed. A further list on the same connection (a resync, which
        // docs/protocol.md allows) replaces the state: the seqs up to it count as received.
        if (c.lists === 1) toResume.push([e.process_id, p.seq]);
        else p.base = Math.max(p.base, e.seq);
        p.seq = e.seq; p.status = e.status; p.progress = JSON.stringify(e.progress);
      } else if (e.seq < p.seq) {
        note('list-behind-tab', { tab: this.id, hub: this.hub.i, pid: e.process_id, listed: e.seq, tab_seq: p.seq, listNo: c.lists });
      }
    }
    for (const [pid, p] of this.procs) {
      if (!listedIds.has(pid)) violation('process-missing-from-list', { tab: this.id, hub: this.hub.i, pid, seq: p.seq, status: p.status });
    }
    for (const [pid, since] of toResume) {
      c.resumes.set(pid, { since, left: 0, answered: false });
      this.ws.send(JSON.stringify({ type: 'subscribe', process_id: pid, since, epoch: this.epoch, request_id: `r-${pid}-${since}` }));
    }
  }

  onSubscribed(m) {
    const resume = this.conn.resumes.get(m.process_id);
    if (!resume) { note('unexpected-subscribed', { tab: this.id, m }); return; }
    resume.answered = true;
    resume.left = m.replayed;
    const listed = this.conn.listed.get(m.process_id);
    if (!m.recovered) {
      violation('not-recovered', { tab: this.id, hub: this.hub.i, pid: m.process_id, since: resume.since, listed, replayed: m.replayed, epoch: m.epoch, tabEpoch: this.epoch });
      const p = this.procs.get(m.process_id);
      if (p) p.base = Math.max(p.base, m.process ? m.process.seq : listed);
    } else if (listed !== undefined && m.replayed !== listed - resume.since) {
      violation('replay-count', { tab: this.id, hub: this.hub.i, pid: m.process_id, since: resume.since, listed, replayed: m.replayed });
    }
  }
}

// ---------- Workers (HTTP producers) ----------

const workerProcesses = new Map(); // process -> what its worker knows was acknowledged
const failedStarts = new Set(); // tags of starts that ended without a 201 (reported already; an attempt may have landed)
let acknowledged = 0, http503 = 0, connectionErrors = 0;

// One API call as a well-behaved worker makes it: on a random live hub, 503 retried after Retry-After, a
// connection error retried elsewhere. `ambiguous`: some attempt may have landed without us seeing the answer.
const MAYBE_STORED = /may (or may )?not (be|have been) stored/;

async function callApi(user, method, urlPath, body, headers = {}) {
  let ambiguous = false;
  for (let attempt = 0; attempt < 200; attempt++) {
    const hub = anyHub();
    try {
      const r = await request(hub.port, method, urlPath, TOKENS[user], body, 4000, headers);
      if (r.status === 503) {
        http503++;
        // "may not be stored" (Redis unreachable, or refusing the script) and "may or may not have been stored" (no
        // answer in time: the script may have run) both leave the event unknown (docs/scale-out.md, "Redis stalls").
        if (MAYBE_STORED.test(r.text)) ambiguous = true;
        await sleep(+(r.headers['retry-after'] || 1) * 1000 * between(0.3, 1));
        continue;
      }
      if (r.status === 429) { note('http-429', { p: urlPath, text: r.text.slice(0, 200) }); await sleep(500); continue; }
      if (r.status >= 500) violation('http-5xx', { hub: hub.i, p: urlPath, status: r.status, text: r.text.slice(0, 300) });
      r.hub = hub.i;
      return { r, ambiguous };
    } catch (e) {
      connectionErrors++;
      // Reset while waiting for the answer: the request may have reached the hub. Refused: it did not.
      if (!/ECONNREFUSED/.test(e.message)) ambiguous = true;
      await sleep(between(100, 400));
    }
  }
  throw new Error('gave up ' + urlPath);
}

async function worker(w) {
  let n = 0;
  while (!stopWorkers) {
    const user = pickOne(USERS);
    // Worker 0 drives long processes (400-800 reports), which outlive hub restarts: a restarted hub must load them,
    // history included, while they report, and the tabs moved to it resume them there.
    const steps = Math.floor(w === 0 ? between(400, 800) : between(15, 50));
    const tag = `w${w}-${n++}`;
    // One key per start, the same on every retry: an attempt that landed unseen (an ambiguous 503, a reset) is named
    // by the retry instead of doubled (docs/protocol.md 1.4.1).
    const { r, ambiguous } = await callApi(user, 'POST', '/api/processes', { process_type: 'chaos', total: steps, params: { tag } },
      { 'Idempotency-Key': `chaos-${RUN_ID}-${tag}` });
    if (ambiguous) note('ambiguous-create', { tag });
    if (r.status !== 201) { failedStarts.add(tag); violation('create-failed', { status: r.status, text: r.text }); continue; }
    const pid = r.json.process_id;
    // ackedEvents: events the hubs acknowledged (the start is seq 1); ambiguousEvents: may have landed, unknown.
    const rec = { pid, user, tag, steps, ackedEvents: 1, ambiguousEvents: 0, completeAcked: false, cancelled: false, broken: false, unfinished: false, createdAt: elapsed(), log: [`create@hub${r.hub}`] };
    workerProcesses.set(pid, rec);
    acknowledged++;
    for (let s = 1; s <= steps && !stopWorkers; s++) {
      await sleep(OPTIONS.reportMs * between(0.5, 1.5));
      const x = await callApi(user, 'POST', `/api/processes/${pid}/progress`, { current: s, total: steps, detail: `${tag} step ${s}` });
      if (x.ambiguous) rec.ambiguousEvents++;
      if (x.r.status === 200) {
        rec.ackedEvents++; acknowledged++; rec.log.push(`p${s}@hub${x.r.hub}`);
      } else if (x.r.status === 409) {
        if (x.r.json && x.r.json.cancel_requested) { rec.cancelled = true; rec.log.push(`409cancel@${s}`); break; }
        violation('progress-409-not-cancelled', { pid, tag, s, hub: x.r.hub, text: x.r.text, log: rec.log.slice(-5) });
        rec.broken = true;
        break;
      } else if (x.r.status === 404) {
        violation('progress-404', { pid, tag, s, hub: x.r.hub, text: x.r.text });
        rec.broken = true;
        break;
      } else {
        violation('progress-unexpected', { pid, status: x.r.status, text: x.r.text });
      }
    }
    if (rec.cancelled || rec.broken) continue;
    if (stopWorkers) { rec.unfinished = true; continue; }
    const x = await callApi(user, 'POST', `/api/processes/${pid}/complete`, { result: { tag } });
    if (x.ambiguous) rec.ambiguousEvents++;
    if (x.r.status === 200) {
      rec.completeAcked = true; rec.ackedEvents++; acknowledged++; rec.log.push(`complete@hub${x.r.hub}`);
    } else if (x.r.status === 409 && x.r.json && x.r.json.status === 'completed' && x.ambiguous) {
      rec.completeAcked = true; rec.completeByRetry = true; // an earlier attempt landed
    } else if (x.r.status === 409 && x.r.json && x.r.json.cancel_requested) {
      rec.cancelled = true;
    } else {
      violation('complete-failed', { pid, tag, status: x.r.status, text: x.r.text, ambiguous: x.ambiguous });
    }
  }
}

// Benchmark runs: processes produced inside the hub that took them, so a kill -9 of that hub must end them with
// hub_lost (judged by the other hubs once its lease expires).
const benchmarks = new Map(); // process -> { hub, hubStart, user, at }
async function startBenchmarks() {
  while (!stopWorkers) {
    await sleep(between(4000, 9000));
    const hub = pickOne(liveHubs());
    if (!hub) continue;
    const user = pickOne(USERS);
    try {
      const r = await request(hub.port, 'POST', '/api/benchmark', TOKENS[user], { models: ['m1'], runs: 5, contexts: ['1K', '2K'], step_ms: 400 }, 4000);
      if (r.status === 202) benchmarks.set(r.json.process_id, { hub: hub.i, hubStart: hub.starts, user, at: elapsed() });
      else note('bench-start-refused', { status: r.status, text: r.text.slice(0, 200) });
    } catch (e) {
      note('bench-start-error', { e: e.message });
    }
  }
}

// A tab cancels one of its running processes now and then, so cancels race with reports on other hubs.
async function cancelNowAndThen(tabs) {
  while (!stopWorkers) {
    await sleep(between(2000, 5000));
    const tab = pickOne(tabs);
    if (!tab.connected) continue;
    const running = [...tab.procs].filter(([, p]) => p.status === 'running');
    if (!running.length) continue;
    const [pid] = pickOne(running);
    try {
      tab.ws.send(JSON.stringify({ type: 'cancel_process', process_id: pid, request_id: 'c-' + pid }));
      if (!cancelSentAt.has(pid)) cancelSentAt.set(pid, elapsed());
    } catch { }
  }
}

// ---------- Faults ----------

const faultCounts = {};
async function injectFault() {
  const kind = pickOne(OPTIONS.faults);
  // Counted when made: a fault with nothing to act on (every hub down) is not one.
  if (await applyFault(kind) !== false) faultCounts[kind] = (faultCounts[kind] || 0) + 1;
}

async function applyFault(kind) {
  if (kind === 'kill9') {
    const hub = pickOne(hubs.filter(h => h.proc));
    if (!hub) return false;
    log(`FAULT kill -9 hub${hub.i} (pid ${hub.proc.pid})`);
    await killHub(hub);
    await sleep(between(300, 2000));
    startHub(hub);
  } else if (kind === 'pubsub') {
    log('FAULT CLIENT KILL TYPE pubsub:', redisCli('CLIENT', 'KILL', 'TYPE', 'pubsub').trim());
  } else if (kind === 'redis') {
    if (!redis) return false;
    const signal = random() < 0.5 ? 'SIGTERM' : 'SIGKILL';
    const downMs = between(2000, 6000);
    log(`FAULT redis ${signal} for ${(downMs / 1000).toFixed(1)} s`);
    const child = redis;
    child.kill(signal);
    await exited(child);
    await sleep(downMs);
    await restartRedis();
  } else if (kind === 'combo') {
    const hub = pickOne(hubs.filter(h => h.proc));
    if (!hub || !redis) return false;
    const downMs = between(2000, 5000);
    log(`FAULT combo: kill -9 hub${hub.i}, redis SIGKILL for ${(downMs / 1000).toFixed(1)} s, hub restarted meanwhile`);
    await killHub(hub);
    const child = redis;
    child.kill('SIGKILL');
    await exited(child);
    await sleep(500);
    startHub(hub);
    await sleep(downMs);
    await restartRedis();
  } else if (kind === 'pausepubsub') {
    // The stopped hub's subscription is dropped while it cannot notice: it must still catch up when it wakes.
    const hub = pickOne(hubs.filter(h => h.proc && h.up));
    if (!hub) return false;
    log(`FAULT SIGSTOP hub${hub.i} + CLIENT KILL TYPE pubsub + SIGCONT`);
    hub.proc.kill('SIGSTOP');
    await sleep(800);
    redisCli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await sleep(800);
    if (hub.proc) hub.proc.kill('SIGCONT');
  } else if (kind === 'stop') {
    const hub = pickOne(hubs.filter(h => h.proc && h.up));
    if (!hub) return false;
    const pauseMs = between(1000, 3000);
    log(`FAULT SIGSTOP hub${hub.i} for ${(pauseMs / 1000).toFixed(1)} s`);
    hub.proc.kill('SIGSTOP');
    await sleep(pauseMs);
    if (hub.proc) hub.proc.kill('SIGCONT');
  }
}

// ---------- Final checks ----------

async function listProcesses(hub, user) {
  const r = await request(hub.port, 'GET', '/api/processes', TOKENS[user], null, 10000);
  if (r.status !== 200 || !r.json) throw new Error(`final check: GET /api/processes on hub${hub.i} answered ${r.status}`);
  return new Map(r.json.processes.map(p => [p.process_id, p]));
}
const sameState = (a, b) => a.seq === b.seq && a.status === b.status && JSON.stringify(a.progress) === JSON.stringify(b.progress);

async function finalCheck(tabs) {
  log('final check');
  const notConnected = tabs.filter(t => !t.connected);
  if (notConnected.length) violation('tabs-not-connected-at-end', { tabs: notConnected.map(t => t.id) });

  // Every hub's list for every user; hub 0's is the reference the others, the tabs and the workers are held to.
  const lists = {};
  for (const u of USERS) for (const h of hubs) lists[`${u}@${h.i}`] = await listProcesses(h, u);
  for (const u of USERS) {
    const reference = lists[`${u}@0`];
    for (const h of hubs.slice(1)) {
      const other = lists[`${u}@${h.i}`];
      for (const [pid, p] of reference) {
        const q = other.get(pid);
        if (!q) violation('hub-lists-differ', { user: u, pid, missingOn: h.i });
        else if (!sameState(p, q)) violation('hub-states-differ', { user: u, pid, hub0: [p.status, p.seq], ['hub' + h.i]: [q.status, q.seq] });
      }
      if (other.size !== reference.size) violation('hub-list-sizes-differ', { user: u, hub0: reference.size, other: other.size, hub: h.i });
    }
  }

  // GET /api/processes/{id} on every hub, 20 at a time (the API rate limit).
  let gets = 0;
  for (const u of USERS) {
    const reference = lists[`${u}@0`];
    const ids = [...reference.keys()];
    for (const h of hubs) {
      for (let i = 0; i < ids.length; i += 20) {
        await Promise.all(ids.slice(i, i + 20).map(async pid => {
          const r = await request(h.port, 'GET', `/api/processes/${pid}`, TOKENS[u], null, 10000);
          gets++;
          const ref = reference.get(pid);
          if (r.status !== 200) violation('get-one-failed', { pid, hub: h.i, status: r.status });
          else if (!sameState(r.json, ref)) violation('get-one-differs', { pid, hub: h.i, get: [r.json.status, r.json.seq], list: [ref.status, ref.seq] });
        }));
      }
    }
  }
  log(`GET one: ${gets} requests`);

  // Tabs hold what the hubs hold, and received every event above what a list gave them, except coalesced progress.
  const tabMismatches = [];
  for (const t of tabs) {
    const reference = lists[`${t.user}@0`];
    for (const [pid, p] of reference) {
      const q = t.procs.get(pid);
      if (!q) { tabMismatches.push({ tab: t.id, pid, why: 'missing in tab', hub: [p.status, p.seq] }); continue; }
      if (q.seq !== p.seq || q.status !== p.status || q.progress !== JSON.stringify(p.progress)) tabMismatches.push({ tab: t.id, pid, tab_: [q.status, q.seq], hub: [p.status, p.seq] });
    }
    for (const pid of t.procs.keys()) if (!reference.has(pid)) tabMismatches.push({ tab: t.id, pid, why: 'tab has, hub does not' });
    for (const [pid, q] of t.procs) {
      for (let s = q.base + 1; s <= q.seq; s++) {
        if (q.seen.has(s)) continue;
        const type = eventType.get(`${pid}|${s}`);
        if (type === 'process_progress') note('tab-missed-progress(coalesced?)', { tab: t.id, pid, seq: s });
        else violation('tab-missed-event', { tab: t.id, pid, seq: s, kind: type || 'never seen by any tab', base: q.base, final: q.seq });
      }
    }
  }
  if (tabMismatches.length) violation('tab-final-state-differs', { count: tabMismatches.length, samples: tabMismatches.slice(0, 10) });

  // Nothing a worker had acknowledged is lost, and nothing appeared that no attempt could have made.
  for (const [pid, rec] of workerProcesses) {
    const p = lists[`${rec.user}@0`].get(pid);
    if (!p) { violation('acked-process-missing', { pid, tag: rec.tag }); continue; }
    if (p.seq < rec.ackedEvents) violation('acked-events-lost', { pid, tag: rec.tag, final: p.seq, acked: rec.ackedEvents, log: rec.log.slice(-6) });
    const endedByHub = p.status === 'cancelled' || p.status === 'failed' ? 1 : 0;
    if (p.seq > rec.ackedEvents + rec.ambiguousEvents + endedByHub) violation('extra-events', { pid, tag: rec.tag, final: p.seq, acked: rec.ackedEvents, ambiguous: rec.ambiguousEvents, status: p.status });
    if (rec.completeAcked && p.status !== 'completed') violation('completed-not-completed', { pid, status: p.status });
    if (!rec.completeAcked && !rec.cancelled && !rec.unfinished && !rec.broken && p.status === 'running') violation('running-unexplained', { pid });
    if (rec.cancelled && p.status !== 'cancelled') violation('cancel-409-but-not-cancelled', { pid, status: p.status });
    if (p.status === 'failed') note('http-process-failed', { pid, error: p.error });
  }

  // The rest: benchmark runs, and processes of an ambiguous start that a worker retried.
  for (const u of USERS) {
    for (const [pid, p] of lists[`${u}@0`]) {
      if (workerProcesses.has(pid)) continue;
      const b = benchmarks.get(pid);
      if (!b) {
        // Every worker start carries an Idempotency-Key: a second process of one start is a duplicate the key
        // should have prevented.
        if (p.process_type === 'chaos' && !failedStarts.has(p.params && p.params.tag)) violation('duplicate-start', { pid, status: p.status, seq: p.seq, params: p.params });
        else note('unknown-process', { pid, type: p.process_type, status: p.status, seq: p.seq });
        continue;
      }
      checkBenchmark(pid, p, b);
    }
  }
  return lists;
}

// A benchmark whose hub was killed under it ends with hub_lost, once the lease (5 s) has expired and not long
// after; one whose hub was not killed never does.
function checkBenchmark(pid, p, b) {
  if (p.status === 'running') violation('benchmark-still-running', { pid, ...b });
  const end = terminalSeenAt.get(pid);
  const killedDuring = hubKills.find(k => k.hub === b.hub && k.t >= b.at && (!end || k.t <= end.t));
  b.status = p.status;
  b.code = p.error && p.error.code;
  b.end = end;
  b.killedDuring = killedDuring;
  if (p.status === 'failed' && b.code === 'hub_lost') {
    if (!killedDuring) { violation('hub_lost-but-hub-not-killed', { pid, ...b }); return; }
    // Protocol 11.6: a hub judges the others only after its own Redis connection has been up a whole lease. The
    // driver's "redis back" is when PING answers; the hubs reconnect up to ~1.5 s later, hence 8.5 s after it.
    const lastRedisUp = end ? Math.max(0, ...redisBackAt.filter(u => u <= end.t)) : 0;
    const bound = Math.max(killedDuring.t + 7.5, lastRedisUp > killedDuring.t - 5 ? lastRedisUp + 8.5 : 0);
    if (!end) note('benchmark-hub_lost-end-unseen-by-tabs', { pid }); // no time to check it against
    else if (end.t > bound || end.t - killedDuring.t < 3) violation('hub_lost-timing', { pid, ...b, after: end.t - killedDuring.t, lastRedisUp, bound });
    else if (end.t > killedDuring.t + 7.5) note('benchmark-hub_lost-late-after-redis-outage', { pid, after: end.t - killedDuring.t, afterRedisUp: end.t - lastRedisUp });
    else note('benchmark-hub_lost-ok', { pid, after: end.t - killedDuring.t });
  } else if (killedDuring && p.status === 'cancelled' && cancelSentAt.has(pid)) {
    note('bench-hub-killed-but-cancelled-by-tab', { pid, cancelSentAt: cancelSentAt.get(pid), cancelled_by: p.cancelled_by, ...b });
  } else if (killedDuring) {
    violation('bench-hub-killed-but-not-hub_lost', { pid, ...b, cancelSentAt: cancelSentAt.get(pid), cancelled_by: p.cancelled_by });
  } else {
    note('benchmark-' + p.status, { pid, code: b.code });
  }
}

// The hubs' logs: no stack trace (an exception that escaped), no token, no secret. Error lines are only noted:
// a hub away from Redis logs warnings and errors by design.
const LOGGED_TRACE = /Exception\b.*\sat [\w.`<>$+|-]+\(/;

function scanHubLogs() {
  for (const h of hubs) {
    const file = path.join(RUN, 'logs', `hub${h.i}.log`);
    if (!fs.existsSync(file)) continue;
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const isFrame = /^\s+at /.test(line);
      if (isFrame && !/^\s+at /.test(lines[i - 1] || '')) violation('stack-trace-in-log', { hub: h.i, line: i + 1, context: lines.slice(Math.max(0, i - 3), i + 3).join('\n') });
      // The hub logs one line per entry (the console's SingleLine): an exception logged with its trace (a catch-all
      // for a bug) is on the same line as the message, its frames after it.
      if (!isFrame && LOGGED_TRACE.test(line)) violation('stack-trace-in-log', { hub: h.i, line: i + 1, context: line.slice(0, 600) });
      if (/\b(fail|crit|error)\b/i.test(line) && !isFrame) note('log-error-line', { hub: h.i, line: i + 1, l: line.slice(0, 300) });
      if (TOKEN_TRACES.some(t => line.includes(t))) violation('secret-in-log', { hub: h.i, line: i + 1 });
    });
  }
}

// ---------- Summary ----------

const countBy = (items, key) => items.reduce((acc, item) => { const k = key(item); acc[k] = (acc[k] || 0) + 1; return acc; }, {});
const formatCounts = counts => Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

function buildSummary(tabs) {
  return {
    seconds: +elapsed().toFixed(1), minutes: OPTIONS.minutes, seed: OPTIONS.seed, faults: faultCounts,
    hubStarts: hubs.map(h => h.starts), redisStarts, acknowledgedEvents: acknowledged, http503, connectionErrors,
    processes: workerProcesses.size, benchmarks: benchmarks.size,
    benchmarkEnds: countBy([...benchmarks.values()], b => `${b.status}${b.code ? '/' + b.code : ''}`),
    distinctFrames: frameText.size, epochs: [...epochsSeen], tabs: tabs.length,
    tabReconnects: tabs.reduce((a, t) => a + t.reconnects, 0),
    violations: countBy(violations, v => v.kind),
    notes: Object.fromEntries(Object.entries(notes).map(([k, v]) => [k, v.count])),
  };
}

function printSummary(s) {
  const faultTotal = Object.values(s.faults).reduce((a, n) => a + n, 0);
  const out = [
    '',
    `cluster chaos: ${s.minutes} min of faults, ${s.seconds} s in all, seed ${s.seed}, ${path.relative(process.cwd(), RUN) || RUN}`,
    `  faults (${faultTotal}): ${formatCounts(s.faults)}`,
    `  hub starts ${s.hubStarts.join('/')}, redis starts ${s.redisStarts}, epochs ${s.epochs.length}`,
    `  acknowledged events ${s.acknowledgedEvents} (503s retried ${s.http503}, connection errors ${s.connectionErrors}), distinct frames ${s.distinctFrames}`,
    `  processes ${s.processes}; benchmarks ${s.benchmarks} (${formatCounts(s.benchmarkEnds)})`,
    `  tabs ${s.tabs}, reconnects ${s.tabReconnects}`,
    `  notes: ${formatCounts(s.notes)}`,
  ];
  if (!violations.length) {
    out.push('  violations: none', 'PASS: every invariant held');
  } else {
    out.push(`  violations (${violations.length}): ${formatCounts(s.violations)}`);
    for (const kind of Object.keys(s.violations).slice(0, 8)) {
      for (const v of violations.filter(x => x.kind === kind).slice(0, 2)) {
        out.push(`    [${v.t.toFixed(1)} s] ${kind}: ${JSON.stringify(v.detail).slice(0, 220)}`);
      }
    }
    out.push(`FAIL: see ${path.join(RUN, 'summary.json')} and journal.log`);
  }
  console.log(redact(out.join('\n')));
}

// ---------- Stopping ----------

async function stopEverything() {
  shuttingDown = true;
  stopping = true;
  stopWorkers = true;
  for (const h of hubs) if (h.proc) h.expectingExit = true;
  await Promise.all(hubs.filter(h => h.proc).map(h => stopChild(h.proc, 10000)));
  if (redis) await stopChild(redis, 5000);
}
// The last resort, also when the driver itself fails: nothing it started may outlive it.
process.on('exit', () => {
  for (const child of children) { try { process.kill(child.pid, 'SIGKILL'); } catch { } }
  fs.rmSync(SECRET_DIR, { recursive: true, force: true });
});
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (interrupted) process.exit(1); // a second Ctrl+C: the exit handler kills what is left
    interrupted = true;
    log(`${signal}: stopping the hubs and Redis`);
    stopEverything().finally(() => process.exit(1));
  });
}

// ---------- Main ----------

async function main() {
  const [rp, ...hubPorts] = await freePorts(4);
  redisPort = rp;
  hubs.forEach((h, i) => { h.port = hubPorts[i]; });
  log(`run dir ${RUN}, ${OPTIONS.minutes} min, seed ${OPTIONS.seed}, faults ${OPTIONS.faults.join(',') || 'none'}, ` +
    `redis :${redisPort}, hubs :${hubPorts.join(' :')}, hub ${OPTIONS.hub}`);
  startRedis();
  await waitForRedis();
  for (const h of hubs) startHub(h);
  for (let i = 0; liveHubs().length < 3; i++) {
    if (i > 300) throw new Error('the hubs did not come up within 60 s (see logs/hub*.log)');
    await sleep(200);
  }

  for (const h of hubs) {
    for (let k = 0; k < OPTIONS.tabs; k++) {
      const tab = new Tab(tabs.length, USERS[k % USERS.length], h);
      tabs.push(tab);
      tab.connect(h);
    }
  }
  await sleep(1500);
  const load = [];
  for (let w = 0; w < OPTIONS.workers; w++) load.push(worker(w).catch(e => violation('worker-died', { w, e: e.stack })));
  if (OPTIONS.bench) load.push(startBenchmarks());
  load.push(cancelNowAndThen(tabs));
  const status = setInterval(() => log(`stat acked=${acknowledged} 503=${http503} connErr=${connectionErrors} procs=${workerProcesses.size} ` +
    `frames=${frameText.size} tabsUp=${tabs.filter(t => t.connected).length} hubsUp=${liveHubs().map(h => h.i)} redis=${!!redis} violations=${violations.length}`), 10000);

  const end = Date.now() + DURATION_MS;
  await sleep(Math.min(5000, DURATION_MS));
  while (Date.now() < end && OPTIONS.faults.length) {
    await injectFault();
    await sleep(between(OPTIONS.gap[0] * 1000, OPTIONS.gap[1] * 1000));
  }
  if (!OPTIONS.faults.length) await sleep(Math.max(0, end - Date.now()));
  log('faults stopped; workers finishing');
  stopWorkers = true;
  await Promise.all(load);
  // Benchmarks still running need up to ~5 s, a killed hub's ones a lease more; tabs may still be reconnecting.
  log('settling 15 s');
  await sleep(15000);
  for (let i = 0; i < 30 && tabs.some(t => !t.connected); i++) await sleep(1000);
  await finalCheck(tabs);

  stopping = true;
  clearInterval(status);
  for (const t of tabs) { t.closedForGood = true; try { t.ws.close(1000); } catch { } }
  await stopEverything();
  scanHubLogs();

  const summary = buildSummary(tabs);
  const report = { summary, options: { ...OPTIONS, hub: path.relative(REPO, OPTIONS.hub) }, violations, notes, workerProcesses: [...workerProcesses.values()] };
  fs.writeFileSync(path.join(RUN, 'summary.json'), redact(JSON.stringify(report, null, 1)));
  printSummary(summary);
  await new Promise(resolve => journal.end(resolve));
  process.exit(violations.length ? 1 : 0);
}

main().catch(async e => {
  console.error(redact(`cluster-chaos: ${e.stack || e}`));
  await stopEverything().catch(() => { });
  process.exit(1);
});
