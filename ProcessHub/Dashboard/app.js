// ProcessHub dashboard: one WebSocket, every visible process as a card, resumable after any disconnect.
// No build step and nothing fetched from the internet: this file is served as-is from the binary.
'use strict';

const TOKEN_KEY = 'processhub.token';
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 15000;

const state = {
  token: null,
  ws: null,
  epoch: null,
  attempt: 0,
  processes: new Map(),   // process_id -> process as in process_list, kept current by events
  dirty: new Set(),
  frameRequested: false,
  requestSeq: 0,
  signedOut: false,
};

const $ = (id) => document.getElementById(id);

// ---- connection -------------------------------------------------------------------------------------------

async function resolveToken() {
  // A token pasted in this tab wins; otherwise dev mode hands one out.
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) return stored;
  try {
    const response = await fetch('/api/dev-token', { cache: 'no-store' });
    if (response.ok) {
      const body = await response.json();
      $('who').textContent = `Dev mode, signed in as ${body.user}`;
      return body.token;
    }
  } catch { /* server down: the socket will tell, and we retry */ }
  return null;
}

async function connect() {
  setConnection(state.attempt === 0 ? 'connecting' : 'reconnecting', state.attempt === 0 ? 'Connecting…' : 'Reconnecting…');
  state.token = await resolveToken();
  if (!state.token) {
    if (state.attempt > 0) {
      onClose(null, { code: 1006, reason: '' }); // server unreachable: keep backing off
      return;
    }
    showSignIn('Paste an access token to see your processes.');
    return;
  }
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const ws = new WebSocket(url);
  state.ws = ws;
  // The token goes in the first message, not in the URL, so it stays out of logs and history.
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: state.token }));
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
  ws.onclose = (event) => onClose(ws, event);
}

function onClose(ws, event) {
  if (ws !== null && state.ws !== ws) return;
  state.ws = null;
  if (event.code === 4401 || event.code === 4403) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(event.code === 4401 ? `Signed out: ${event.reason || 'token rejected'}. Paste a fresh token.` : 'This token may not connect.');
    return;
  }
  // Exponential backoff with full jitter, so a restarted server is not stampeded by every tab at once.
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** state.attempt);
  const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  state.attempt++;
  setConnection('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s`);
  setTimeout(connect, delay);
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(message));
    return true;
  }
  toast('Not connected; try again in a moment.');
  return false;
}

function setConnection(kind, text) {
  $('conn').dataset.state = kind;
  $('conn-text').textContent = text;
}

function showSignIn(reason) {
  state.signedOut = true;
  setConnection('signed-out', 'Signed out');
  $('signin').hidden = false;
  $('signin-reason').textContent = reason;
  $('token-input').focus();
}

// ---- messages ---------------------------------------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case 'process_list': return onProcessList(message);
    case 'process_started':
    case 'process_progress':
    case 'process_completed':
    case 'process_failed':
    case 'process_cancelled': return onProcessEvent(message);
    case 'subscribed': return onSubscribed(message);
    case 'error': return toast(`${message.message}${message.code ? ` (${message.code})` : ''}`);
    default: return undefined;
  }
}

function onProcessList(message) {
  state.attempt = 0;
  state.signedOut = false;
  $('signin').hidden = true;
  setConnection('open', 'Live');
  const previous = state.processes;
  const sameEpoch = state.epoch === message.epoch;
  state.epoch = message.epoch;
  state.processes = new Map();
  for (const process of message.processes) state.processes.set(process.process_id, process);
  // Resume: for what this tab had, ask for the events after its last seq (same epoch only: seqs from an
  // older epoch mean nothing). The list already carries the current state; the replay fills any history.
  if (sameEpoch) {
    for (const [id, old] of previous) {
      const now = state.processes.get(id);
      if (now && now.status === 'running' && old.seq < now.seq) {
        send({ type: 'subscribe', process_id: id, since: old.seq, epoch: state.epoch, request_id: `resume-${++state.requestSeq}` });
      }
    }
  }
  rebuild();
}

function onSubscribed(message) {
  if (message.process) merge(message.process);
}

function onProcessEvent(event) {
  const known = state.processes.get(event.process_id);
  if (known && event.seq <= known.seq) return; // already reflected (the list or a replay was newer)
  const process = known ?? {
    process_id: event.process_id, process_type: event.process_type, owner: event.owner,
    status: 'running', progress: event.progress ?? { current: 0, total: 0 }, seq: 0, started_at: event.timestamp,
  };
  const wasRunning = known ? known.status === 'running' : null;
  process.seq = event.seq;
  switch (event.type) {
    case 'process_started':
      process.progress = event.progress; process.owner = event.owner; process.started_at = event.timestamp; break;
    case 'process_progress':
      process.progress = event.progress; break;
    case 'process_completed':
      process.status = 'completed'; process.result = event.result; process.ended_at = event.timestamp; break;
    case 'process_failed':
      process.status = 'failed'; process.error = event.error; process.ended_at = event.timestamp; break;
    case 'process_cancelled':
      process.status = 'cancelled'; process.cancelled_by = event.cancelled_by; process.ended_at = event.timestamp; break;
  }
  const moved = wasRunning === null || wasRunning !== (process.status === 'running');
  state.processes.set(process.process_id, process);
  if (moved) rebuild(); else markDirty(process.process_id);
}

function merge(snapshot) {
  const known = state.processes.get(snapshot.process_id);
  if (!known || snapshot.seq >= known.seq) {
    state.processes.set(snapshot.process_id, { ...known, ...snapshot });
    rebuild();
  }
}

// ---- rendering: DOM work batched per animation frame -----------------------------------------------------

const cards = new Map(); // process_id -> <li>

function markDirty(id) {
  state.dirty.add(id);
  if (!state.frameRequested) {
    state.frameRequested = true;
    requestAnimationFrame(flush);
  }
}

function rebuild() {
  for (const id of state.processes.keys()) state.dirty.add(id);
  state.dirty.add('*layout*');
  if (!state.frameRequested) {
    state.frameRequested = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  state.frameRequested = false;
  const layout = state.dirty.delete('*layout*');
  for (const id of state.dirty) {
    const process = state.processes.get(id);
    if (process) render(process);
  }
  state.dirty.clear();
  if (layout) arrange();
}

function arrange() {
  for (const [id, card] of cards) {
    if (!state.processes.has(id)) { card.remove(); cards.delete(id); }
  }
  const byStart = [...state.processes.values()].sort((a, b) => (b.started_at || '').localeCompare(a.started_at || ''));
  const running = byStart.filter((p) => p.status === 'running');
  const ended = byStart.filter((p) => p.status !== 'running');
  place($('running'), running);
  place($('ended'), ended);
  $('running-count').textContent = running.length;
  $('ended-count').textContent = ended.length;
  $('running-empty').hidden = running.length > 0;
  $('ended-empty').hidden = ended.length > 0;
}

function place(list, processes) {
  processes.forEach((process, index) => {
    const card = cards.get(process.process_id) ?? render(process);
    if (list.children[index] !== card) list.insertBefore(card, list.children[index] ?? null);
  });
}

function render(process) {
  let card = cards.get(process.process_id);
  if (!card) {
    card = $('card-template').content.firstElementChild.cloneNode(true);
    card.dataset.processId = process.process_id;
    card.querySelector('.cancel').addEventListener('click', () => cancel(process.process_id));
    cards.set(process.process_id, card);
  }
  const progress = process.progress ?? { current: 0, total: 0 };
  const current = Number(progress.current) || 0;
  const total = Number(progress.total) || 0;
  const percent = total > 0 ? Math.min(100, Math.round((current / total) * 100)) : (process.status === 'completed' ? 100 : 0);
  card.dataset.status = process.status;
  setText(card, '.type', process.process_type);
  const badge = card.querySelector('.badge');
  badge.dataset.status = process.status;
  badge.textContent = process.status;
  setText(card, '.owner', process.owner ? `by ${process.owner}` : '');
  const bar = card.querySelector('.bar');
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(current));
  bar.setAttribute('aria-label', `${process.process_type} progress`);
  card.querySelector('.fill').style.width = `${percent}%`;
  setText(card, '.counts', `${current} / ${total} · ${percent}%`);
  setText(card, '.model', progress.model ?? '');
  setText(card, '.detail', progress.detail ?? '');
  setText(card, '.pid', process.process_id);
  const cancelButton = card.querySelector('.cancel');
  cancelButton.hidden = process.status !== 'running';
  cancelButton.setAttribute('aria-label', `Cancel ${process.process_type} ${process.process_id}`);
  setText(card, '.outcome', outcome(process));
  renderClock(card, process);
  return card;
}

function renderClock(card, process) {
  const started = Date.parse(process.started_at);
  const ended = process.ended_at ? Date.parse(process.ended_at) : Date.now();
  const elapsed = Math.max(0, ended - started);
  setText(card, '.elapsed', `Elapsed ${duration(elapsed)}`);
  const { current = 0, total = 0 } = process.progress ?? {};
  let eta = '';
  if (process.status === 'running' && current > 0 && total > current) {
    eta = `ETA ${duration((elapsed / current) * (total - current))}`;
  }
  setText(card, '.eta', eta);
}

function outcome(process) {
  switch (process.status) {
    case 'completed': return process.result === undefined ? 'Completed.' : `Result: ${JSON.stringify(process.result)}`;
    case 'failed': return `Error: ${process.error?.message ?? 'failed'}${process.error?.code ? ` (${process.error.code})` : ''}`;
    case 'cancelled': return process.cancelled_by ? `Cancelled by ${process.cancelled_by}.` : 'Cancelled.';
    default: return '';
  }
}

function setText(root, selector, text) {
  const element = root.querySelector(selector);
  if (element.textContent !== text) element.textContent = text;
}

function duration(ms) {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

// Elapsed and ETA move every second even without events.
setInterval(() => {
  for (const process of state.processes.values()) {
    const card = cards.get(process.process_id);
    if (card && process.status === 'running') renderClock(card, process);
  }
}, 1000);

// ---- actions ------------------------------------------------------------------------------------------------

function cancel(id) {
  send({ type: 'cancel_process', process_id: id, request_id: `cancel-${++state.requestSeq}` });
}

async function startBenchmark(event) {
  event.preventDefault();
  const list = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = {
    models: list($('models').value),
    runs: Number($('runs').value),
    contexts: list($('contexts').value),
    step_ms: Number($('step-ms').value),
  };
  const button = $('start-button');
  button.disabled = true;
  try {
    const response = await fetch('/api/benchmark', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${state.token}` },
      body: JSON.stringify(body),
    });
    const reply = await response.json();
    $('start-message').textContent = response.ok
      ? `Started benchmark ${reply.process_id}.`
      : `Could not start: ${reply.error?.message ?? response.status}`;
  } catch (error) {
    $('start-message').textContent = `Could not start: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

let toastTimer = 0;
function toast(text) {
  const element = $('toast');
  element.textContent = text;
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { element.hidden = true; }, 4000);
}

$('start-form').addEventListener('submit', startBenchmark);
$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
  $('token-input').value = '';
  $('signin').hidden = true;
  state.attempt = 0;
  connect();
});

connect();
