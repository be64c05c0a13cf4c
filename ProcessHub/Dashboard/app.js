// ProcessHub dashboard: one WebSocket, every visible process as a card, resumable after any disconnect.
// No build step and nothing fetched from the internet: this file is served as-is from the binary.
'use strict';

const TOKEN_KEY = 'processhub.token';
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 15000;
// A connection counts as good again (the backoff starts over) only after it has stayed open this long: one closed
// right after its list (4429, 1008) must not bring the next attempt back to the first, shortest delay.
const STABLE_AFTER_MS = 10000;
// The hub takes a burst of 100 client messages per connection (docs/protocol.md 4.8): a resume asks for at most this
// many replays. The list carries every process's current state anyway; the replays only fill in what happened.
const RESUME_MAX = 50;
const MAX_ENDED = 500;
const LOOKUPS_AT_ONCE = 4;
// A running card a list lacks is looked up again this many times (1, 2, 4, 8, 16 s apart) while the hub cannot say.
const UNLISTED_CHECKS = 5;
// Cancel takes a second click on the same button within this long. Cards move as runs start and end (the newest
// first), so a click aimed at one card's Cancel can land on the card that just took its place: one click alone
// must not end a run that may have been going for hours.
const CONFIRM_MS = 5000;
const ETA_LONGEST_MS = 30 * 24 * 3600 * 1000; // past this the card says 'ETA over 30 days'
const PHONE = window.matchMedia('(max-width: 700px)');
// Dev mode only: ?user=alice&role=admin asks the hub for that user's token, so two users can be tried side by side.
const PAGE_QUERY = new URLSearchParams(location.search);
// The hub serves the page saying whether it is in dev mode: a hub that is not is never asked for a dev token, so its
// page leaves no 404 in the browser's console and no request in the hub's.
const DEV_TOKENS = document.querySelector('meta[name="processhub-dev-tokens"]')?.content === 'on';

const state = {
  token: null,
  user: null,             // { sub, roles } read from the token in use
  dev: false,             // the token came from dev mode's /api/dev-token
  ws: null,
  epoch: null,
  listUser: null,         // whose process_list state.processes holds
  attempt: 0,
  stableTimer: 0,         // resets the backoff once the connection has stayed open for STABLE_AFTER_MS
  link: 'connecting',     // connecting | open | reconnecting | signed-out
  offlineSince: null,     // when the connection was lost: the cards' clocks stop there
  nextTryAt: 0,
  processes: new Map(),   // process_id -> process as in process_list, kept current by events
  lost: new Map(),        // running processes a restarted hub no longer knows; kept until the notice is dismissed
  fetching: new Set(),    // ids whose omitted params/result are being fetched
  recheck: new Set(),     // ids to check as unlisted once the look-up in flight for them is done
  goneTitles: [],         // unlisted cards the hub answered 404 for, said together in one toast
  lookups: 0,             // look-ups in flight (at most LOOKUPS_AT_ONCE)
  lookupQueue: [],        // look-ups waiting for one to finish
  closeReason: null,      // why the hub refused the last connection, when a person can act on it (1013)
  devRetried: false,      // a 4401 in dev mode was answered with a fresh token once since the last list
  dirty: new Set(),
  frameRequested: false,
  requestSeq: 0,
  starting: false,
  endedLetGo: false,      // the page let older ended processes go since the last list (MAX_ENDED)
  retentionMs: null,      // how long the hub keeps an ended process (process_list's retention_seconds), if it says
  hubClockMs: 0,          // the hub's clock minus this browser's, from the last list's timestamp
  failedOnly: false,      // the ended list shows only failed processes ("Failed only", or the link under "Running")
};

const $ = (id) => document.getElementById(id);
// Counts in the reader's own convention (987,654 or 987 654): a producer's totals can run to millions.
const NUMBER = new Intl.NumberFormat();
const count = (value) => NUMBER.format(value);

// ---- connection -------------------------------------------------------------------------------------------

async function resolveToken() {
  // A token pasted in this tab wins; otherwise dev mode hands one out (for the page's ?user= and ?role=, if any).
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) return { token: stored, dev: false };
  if (!DEV_TOKENS) return {}; // not dev mode: someone has to paste a token
  const query = new URLSearchParams();
  for (const name of ['user', 'role']) {
    if (PAGE_QUERY.has(name)) query.set(name, PAGE_QUERY.get(name));
  }
  const text = query.toString();
  let response;
  try {
    response = await fetch(`/api/dev-token${text ? `?${text}` : ''}`, { cache: 'no-store' });
  } catch {
    return { unreachable: true };
  }
  if (response.ok) {
    const body = await response.json();
    return { token: body.token, dev: true };
  }
  if (response.status === 400) {
    const body = await response.json().catch(() => null);
    return { problem: `Dev mode will not sign in as “${PAGE_QUERY.get('user') ?? 'dev'}”: ${body?.error?.message ?? 'refused'}.` };
  }
  if (response.status >= 500) return { unreachable: true };
  return {}; // dev mode no longer (the hub restarted without it since the page loaded): someone has to paste a token
}

async function connect() {
  if (state.attempt === 0 && state.offlineSince === null) setLink('connecting');
  if (state.link === 'reconnecting') {
    // The attempt is under way: the countdown said "in 1 s" until the next tick of the clock, which may be a second
    // away while the token is fetched and the socket opens.
    state.nextTryAt = 0;
    updateOffline();
  }
  const resolved = await resolveToken();
  if (resolved.unreachable) {
    loseConnection();
    scheduleReconnect();
    return;
  }
  if (!resolved.token) {
    showSignIn(resolved.problem ?? 'Paste an access token to see your processes.');
    return;
  }
  state.token = resolved.token;
  state.dev = resolved.dev;
  state.user = claimsOf(resolved.token);
  showWho();
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
  clearTimeout(state.stableTimer);
  if (event.code === 4401 && state.dev && !state.devRetried) {
    // Dev mode hands out tokens (docs/protocol.md 2.5: get a fresh token, then reconnect): a dev tab left open past
    // its token's day, or across a restart of the hub (dev tokens are for one run), signs itself in again. Once: a
    // fresh token refused too (hubs with different dev secrets behind one address) asks the person instead.
    state.devRetried = true;
    state.closeReason = null;
    loseConnection();
    scheduleReconnect();
    return;
  }
  if (event.code === 4401 || event.code === 4403) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(event.code === 4401 ? `Signed out: ${event.reason || 'token rejected'}. Paste a fresh token.` : 'This token may not connect.');
    if (!state.dev) offerDevToken();
    return;
  }
  // Said under "Connection lost", so a tab refused for a reason a person can act on does not just keep retrying.
  state.closeReason = event.code !== 1013 || !event.reason ? null
    : event.reason.includes('for this user') ? `${event.reason}; close other tabs of this user, or wait` : event.reason;
  loseConnection();
  scheduleReconnect();
}

// From here until the next process_list, what the cards show is only the last known state.
function loseConnection() {
  if (state.offlineSince === null) state.offlineSince = Date.now();
}

function scheduleReconnect() {
  // Exponential backoff with full jitter, so a restarted server is not stampeded by every tab at once.
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** state.attempt);
  const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  state.attempt++;
  state.nextTryAt = Date.now() + delay;
  setLink('reconnecting');
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

// One place decides what the connection state means for everything on the page.
function setLink(kind) {
  const changed = state.link !== kind;
  state.link = kind;
  document.body.dataset.link = kind;
  $('conn').dataset.state = kind;
  const text = { connecting: 'Connecting…', open: 'Live', 'signed-out': 'Signed out', reconnecting: 'Reconnecting' }[kind];
  setLiveText($('conn-text'), text);
  if (kind !== 'reconnecting') $('conn-countdown').textContent = '';
  updateTitle();
  updateOffline();
  updateStart();
  updateEmpty();
  if (changed) rebuild(); // stale marks, Cancel buttons and clocks all follow the link
}

function updateOffline() {
  const offline = state.link === 'reconnecting' && state.offlineSince !== null;
  $('offline').hidden = !offline;
  if (!offline) return;
  const seconds = Math.max(0, Math.ceil((state.nextTryAt - Date.now()) / 1000));
  const next = seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…';
  // A tab that never had a list (refused from the start: a per-user limit) has no cards to call stale, and lost no
  // connection it had.
  const listed = state.listUser !== null;
  setText(document, '#offline-what', listed ? 'Connection lost' : 'Could not connect');
  $('offline-cards').hidden = !listed;
  $('offline-since').textContent = ` at ${new Date(state.offlineSince).toLocaleTimeString()}`;
  $('offline-text').textContent = `${state.closeReason ? `The hub said: ${state.closeReason}. ` : ''}${next} (attempt ${state.attempt}).`;
  // The countdown is for the eye: screen readers hear "Reconnecting" once, not a new status every second.
  $('conn-countdown').textContent = seconds > 0 ? ` in ${seconds} s` : '…';
}

// A live region's text is set only when it changes: writing the same words again is announced again.
function setLiveText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// A tab in the background says in its title whether it is live, and how many processes run.
// arrange() passes the count it has just made; a change of link counts once.
function updateTitle(running = [...state.processes.values()].filter((p) => p.status === 'running').length) {
  const prefix = { reconnecting: 'Reconnecting… · ', 'signed-out': 'Signed out · ', connecting: 'Connecting… · ' }[state.link]
    ?? (running > 0 ? `${running} running · ` : '');
  document.title = `${prefix}ProcessHub`;
}

function updateStart() {
  const button = $('start-button');
  button.disabled = state.link !== 'open' || state.starting;
  const hint = {
    'signed-out': 'Sign in to start a benchmark.',
    reconnecting: 'Waiting for the hub to come back before anything can start.',
    connecting: 'Connecting to the hub…',
  }[state.link];
  const message = $('start-message');
  if (hint) {
    message.textContent = hint;
    message.dataset.hint = 'true';
  } else if (message.dataset.hint) {
    message.textContent = '';
    delete message.dataset.hint;
  }
}

function updateEmpty() {
  const signedOut = state.link === 'signed-out';
  $('running-empty').textContent = signedOut
    ? 'Sign in to see your processes.'
    : state.link === 'open' ? 'Nothing is running. Start a benchmark, or from any producer.' : 'Waiting for the hub…';
  $('ended-empty').textContent = signedOut ? '' : 'Ended processes stay here for the retention window.';
}

function showSignIn(reason) {
  setLink('signed-out');
  $('signin-dev').hidden = true;
  delete $('signin-dev').dataset.asked;
  // The header said whose token it was; that token no longer signs anyone in (and one refused at once never did).
  $('who').textContent = state.user && state.listUser === state.user.sub ? `Was signed in as ${state.user.sub}` : '';
  document.body.dataset.auth = 'out';
  $('signin').hidden = false;
  $('signin-reason').textContent = reason;
  $('token-input').focus();
}

// A pasted token refused by a hub in dev mode (most often one from before the hub restarted: dev tokens are signed
// for one run) leaves the person a way on besides pasting again: the dev token the hub hands out. Offered, not
// taken: the pasted token may have been another user's, and the page must not quietly sign in as someone else.
async function offerDevToken() {
  const resolved = await resolveToken();
  $('signin-dev').dataset.asked = 'true'; // the hub has answered, whatever it said (a test waits on this)
  if (!resolved.token || !resolved.dev || state.link !== 'signed-out') return;
  $('signin-dev-button').textContent = `Sign in as ${claimsOf(resolved.token).sub} with a dev token`;
  $('signin-dev').hidden = false;
}

function showWho() {
  const user = state.user;
  if (!user) {
    $('who').textContent = '';
    return;
  }
  const roles = user.roles.length ? ` (${user.roles.join(', ')})` : '';
  $('who').textContent = `${state.dev ? 'Dev mode, signed in as' : 'Signed in as'} ${user.sub}${roles}`;
}

// The token's own claims, for the header only: the hub checks the token, the page just says whose it is.
function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    const roles = [].concat(claims.roles ?? [], claims.role ?? []).map(String);
    return { sub: String(claims.sub ?? '?'), roles };
  } catch {
    return null;
  }
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
  const previous = state.processes;
  const previousEpoch = state.epoch;
  const offlineSince = state.offlineSince;
  const sameUser = state.listUser !== null && state.listUser === state.user?.sub;
  clearTimeout(state.stableTimer);
  state.stableTimer = setTimeout(() => { state.attempt = 0; }, STABLE_AFTER_MS);
  state.offlineSince = null;
  state.epoch = message.epoch;
  state.listUser = state.user?.sub ?? null;
  state.closeReason = null;
  state.devRetried = false;
  // An admin's list is a bounded view (docs/protocol.md 3.4): say so, or the counts pass for the hub's.
  const note = $('list-note');
  note.hidden = message.truncated !== true;
  note.textContent = message.truncated === true
    ? `Showing ${message.processes.length} of ${message.total ?? 'more'} processes: the running ones first, then the most recently ended. Others appear here as they change.`
    : '';
  state.processes = new Map();
  state.endedLetGo = false; // a fresh list is counted afresh (arrange() trims it again if it holds more)
  state.retentionMs = Number.isFinite(message.retention_seconds) ? message.retention_seconds * 1000 : null;
  const listedAt = Date.parse(message.timestamp);
  state.hubClockMs = Number.isFinite(listedAt) ? listedAt - Date.now() : 0;
  for (const process of message.processes) {
    // Same epoch, and this tab already has a later seq: the hub is behind (a failover to a hub still catching up,
    // docs/protocol.md 11.4), so its entry is older than the card. Keep the card; the events in between come later.
    const old = sameUser && previousEpoch === message.epoch ? previous.get(process.process_id) : undefined;
    state.processes.set(process.process_id, old && old.seq > process.seq ? old : process);
  }
  // Same epoch, and a process this tab knew running is not listed: a hub never lets a running process go, so either
  // this hub has not caught up with it yet (it started on another hub while this one could not follow, 11.4) or it
  // ended and was let go while this tab was away. Keep the card and ask the hub, which answers 404 only for the latter.
  // An admin's bounded list leaves running processes out on purpose (3.4): those are not looked up.
  const unlisted = [];
  if (sameUser && previousEpoch === message.epoch && message.truncated !== true) {
    for (const [id, old] of previous) {
      if (old.status === 'running' && !state.processes.has(id)) {
        state.processes.set(id, old);
        unlisted.push(id);
      }
    }
  }
  document.body.dataset.auth = 'in';
  $('signin').hidden = true;
  if (!sameUser) state.lost.clear();

  if (sameUser && previousEpoch !== message.epoch) {
    reportRestart(previous, offlineSince);
  } else if (sameUser && offlineSince !== null) {
    reportWhileAway(previous);
  }
  // Resume: for what this tab had, ask for the events after its last seq (same epoch only: seqs from an
  // older epoch mean nothing). The list already carries the current state; the replay fills any history.
  if (sameUser && previousEpoch === message.epoch) {
    let resumes = 0;
    for (const [id, old] of previous) {
      const now = state.processes.get(id);
      if (now && now.status === 'running' && old.seq < now.seq && resumes < RESUME_MAX) {
        resumes++;
        send({ type: 'subscribe', process_id: id, since: old.seq, epoch: state.epoch, request_id: `resume-${++state.requestSeq}` });
      }
    }
  }
  for (const id of unlisted) checkUnlisted(id);
  for (const process of state.processes.values()) {
    if (process.omitted && !unlisted.includes(process.process_id)) fetchOmitted(process.process_id);
  }
  setLink('open');
  rebuild();
}

// A new epoch: the hub's history started over. Say so, and keep what was running as "lost" cards.
function reportRestart(previous, offlineSince) {
  const items = [];
  let endedGone = 0;
  for (const old of previous.values()) {
    if (state.processes.has(old.process_id)) continue;
    if (old.status === 'running') {
      state.lost.set(old.process_id, { ...old, status: 'lost', lost_at: offlineSince ?? Date.now() });
      const title = describe(old).title;
      items.push(`${title}${title === old.process_type ? '' : ` (${old.process_type})`} was running at ${countsText(old.progress)}; the hub no longer knows it, so its outcome is unknown. Its card stays below, marked lost.`);
    } else {
      endedGone++;
    }
  }
  if (endedGone > 0) items.push(`${plural(endedGone, 'ended process', 'ended processes')} shown before the restart ${endedGone === 1 ? 'is' : 'are'} no longer listed.`);
  const fresh = [...state.processes.values()].filter((p) => !previous.has(p.process_id)).length;
  if (fresh > 0) items.push(`${plural(fresh, 'process', 'processes')} started since the restart.`);
  if (items.length === 0) items.push('Nothing this tab was showing was lost.');
  // A hub keeps its processes across a restart (its store, or Redis): a new epoch means that history started over (a
  // new or reset store, --store memory, --new-epoch, or Redis that lost its data).
  showNotice('The hub restarted', 'It came back with a new history (a new or reset store, or --new-epoch), so this is what changed:', items);
}

// Same epoch: the hub kept everything; say what ended while this tab was not looking.
function reportWhileAway(previous) {
  const items = [];
  for (const old of previous.values()) {
    if (old.status !== 'running') continue;
    const now = state.processes.get(old.process_id);
    if (now && now.status !== 'running') items.push(`${describe(now).title}: ${now.status}.`);
  }
  if (items.length > 0) showNotice('Reconnected', 'While this tab was disconnected:', items);
}

function showNotice(title, lead, items) {
  $('notice-title').textContent = title;
  $('notice-lead').textContent = lead;
  $('notice-list').replaceChildren(...items.map((text) => {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }));
  $('notice').hidden = false;
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
      process.progress = event.progress; process.owner = event.owner; process.started_at = event.timestamp;
      if (event.params !== undefined) process.params = event.params;
      break;
    case 'process_progress':
      process.progress = event.progress; break;
    case 'process_completed':
      process.status = 'completed'; process.result = event.result; process.ended_at = event.timestamp;
      process.duration_ms = event.duration_ms; break;
    case 'process_failed':
      process.status = 'failed'; process.error = event.error; process.ended_at = event.timestamp;
      process.duration_ms = event.duration_ms; break;
    case 'process_cancelled':
      process.status = 'cancelled'; process.cancelled_by = event.cancelled_by; process.ended_at = event.timestamp;
      process.duration_ms = event.duration_ms; break;
  }
  const moved = wasRunning === null || wasRunning !== (process.status === 'running');
  state.processes.set(process.process_id, process);
  if (!known && event.type !== 'process_started') fetchUnlisted(process.process_id);
  if (moved) rebuild(); else markDirty(process.process_id);
}

function merge(snapshot) {
  const known = state.processes.get(snapshot.process_id);
  if (!known || snapshot.seq >= known.seq) {
    const merged = { ...known, ...snapshot };
    // A subscribed reply sent while this tab's queue was backed up leaves params and result out (docs/protocol.md
    // 5.2): what the card has already stands, what it lacks is fetched, as for a list's entry.
    const missing = (snapshot.omitted ?? []).filter((field) => merged[field] === undefined);
    if (missing.length > 0) merged.omitted = missing; else delete merged.omitted;
    state.processes.set(snapshot.process_id, merged);
    if (missing.length > 0 && known) fetchOmitted(snapshot.process_id);
    rebuild();
  }
}

// A long list leaves the params or result of older entries out ("omitted"); the process on its own has them.
function fetchOmitted(id) {
  // If the look-up fails, the card says the result is not loaded; the next list will try again.
  return lookUp(id, (full, known) => {
    for (const field of known.omitted ?? []) {
      if (full[field] !== undefined) known[field] = full[field];
    }
    delete known.omitted;
    markDirty(id);
  });
}

// An event of a process the list left out (an admin's list is a bounded view, docs/protocol.md 3.4): its card was
// made from the event alone, without when it started, whose it is or its params, so its clock and ETA ran from the
// first event seen. The hub has them.
function fetchUnlisted(id) {
  return lookUp(id, (full, known) => {
    known.started_at = full.started_at;
    known.owner = full.owner;
    if (full.params !== undefined) known.params = full.params;
    if (full.seq >= known.seq) merge(full); else markDirty(id);
  });
}

// A running card the list did not have (see onProcessList): the hub's answer brings it up to date, a 404 (the process
// ended and was let go while this tab was away) takes it away with a word; a hub that cannot say yet (503 while it
// catches up) leaves it, and the events it catches up with come live.
function checkUnlisted(id, attempt = 0) {
  if (state.fetching.has(id)) {
    state.recheck.add(id); // another look-up of it is in flight (its omitted result, say): check once that is done
    return undefined;
  }
  return lookUp(id, (full, known) => {
    if (full.seq >= known.seq) {
      merge(full);
    } else {
      for (const field of known.omitted ?? []) {
        if (full[field] !== undefined) known[field] = full[field];
      }
      delete known.omitted;
      markDirty(id);
    }
  }, (known) => {
    if (known.status !== 'running') return; // an event came meanwhile: the card knows better than the 404
    state.processes.delete(id);
    state.goneTitles.push(describe(known).title);
    clearTimeout(state.goneTimer);
    state.goneTimer = setTimeout(() => {
      const titles = state.goneTitles.splice(0);
      toast(`${listText(titles, 3)} ended and ${titles.length === 1 ? 'has' : 'have'} left the list.`);
    }, 200);
    rebuild();
  }, () => {
    // The hub could not say (503 while it catches up, the network): ask again a few times, further apart, while the
    // card still runs; its catch-up events may settle it first.
    const known = state.processes.get(id);
    if (attempt < UNLISTED_CHECKS && known && known.status === 'running') {
      setTimeout(() => checkUnlisted(id, attempt + 1), 1000 * 2 ** attempt);
    }
  });
}

// One look-up of a process at a time; `apply` gets the hub's answer and the card as it is when the answer comes
// (neither, if the hub could not say or the card is gone); `gone`, if given, gets the card when the hub answers 404. A list can leave out hundreds of results: at most
// LOOKUPS_AT_ONCE go out together, and one the hub's request budget refuses (429) waits its Retry-After and goes
// again, instead of leaving the card "loading" until the next list (docs/protocol.md 1.2.1).
async function lookUp(id, apply, gone, unanswered) {
  if (state.fetching.has(id)) return;
  state.fetching.add(id);
  await lookupSlot();
  try {
    const full = await getProcess(id);
    const known = state.processes.get(id);
    if (full === GONE) {
      if (known && gone) gone(known);
    } else if (full && known) {
      apply(full, known);
    } else if (!full && unanswered) {
      unanswered();
    }
  } finally {
    state.fetching.delete(id);
    const next = state.lookupQueue.shift();
    if (next) next(); else state.lookups--;
    if (state.recheck.delete(id)) checkUnlisted(id);
  }
}

function lookupSlot() {
  if (state.lookups < LOOKUPS_AT_ONCE) {
    state.lookups++;
    return Promise.resolve();
  }
  return new Promise((resolve) => state.lookupQueue.push(resolve)); // the slot passes on to it as one is freed
}

// The process as the hub holds it now (GET /api/processes/{id}); GONE when the hub answers 404; null when it cannot say.
const GONE = Symbol('gone');
async function getProcess(id) {
  for (let attempt = 0; attempt < 5; attempt++) {
    let response;
    try {
      response = await fetch(`/api/processes/${encodeURIComponent(id)}`, {
        headers: { Authorization: `Bearer ${state.token}` }, cache: 'no-store',
      });
    } catch {
      return null;
    }
    if (response.status === 404) return GONE;
    if (response.status !== 429) return response.ok ? await response.json() : null;
    const wait = Math.min(30, Number(response.headers.get('Retry-After')) || 1);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  return null;
}

// ---- what a card says -------------------------------------------------------------------------------------

// A card is titled by what it runs: a benchmark by its models, with its contexts and runs beneath; any other
// process by its type, with a few of its scalar params.
function describe(process) {
  const params = process.params;
  if (process.process_type === 'benchmark' && params && Array.isArray(params.models)) {
    const models = params.models.map(textOf);
    const contexts = Array.isArray(params.contexts) ? params.contexts.map(textOf) : [];
    const runs = numberOf(params.runs) || 1;
    const parts = ['benchmark'];
    if (contexts.length) parts.push(`${contexts.length === 1 ? 'context' : 'contexts'} ${listText(contexts, 4)}`);
    parts.push(`${plural(runs, 'run', 'runs')} each`);
    return { title: listText(models, 3), subtitle: parts.join(' · '), full: `${models.join(', ')} · ${contexts.join(', ')}` };
  }
  let subtitle = '';
  if (params && typeof params === 'object' && !Array.isArray(params)) {
    subtitle = Object.entries(params)
      .filter(([, value]) => value === null || typeof value !== 'object')
      .slice(0, 3)
      .map(([name, value]) => `${name}: ${value}`)
      .join(' · ');
  } else if (params !== undefined && params !== null) {
    subtitle = textOf(params);
  }
  // A param's value may be kilobytes: the card's line shows the start, the title's tooltip (full) all of it.
  return { title: process.process_type, subtitle: clip(subtitle, 200), full: [process.process_type, subtitle].filter(Boolean).join(' · ') };
}

function listText(items, max) {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} +${items.length - max} more`;
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

function countsText(progress) {
  const current = Number(progress?.current) || 0;
  const total = Number(progress?.total) || 0;
  return `${count(current)} / ${count(total)}`;
}

function outcomeNodes(process) {
  const text = (value) => {
    const p = document.createElement('p');
    p.textContent = value;
    return [p];
  };
  switch (process.status) {
    case 'completed':
      if (process.result === undefined) {
        return text(process.omitted?.includes('result') ? 'Completed; loading its result…' : 'Completed.');
      }
      return resultNodes(process);
    case 'failed': {
      // A message may be a whole traceback: the card shows its start, the tooltip the rest.
      const message = String(process.error?.message ?? 'failed');
      const nodes = text(`Error: ${clip(message, 300)}${process.error?.code ? ` (${process.error.code})` : ''}`);
      if (message.length > 300) nodes[0].title = message;
      return nodes;
    }
    case 'cancelled':
      return text(process.cancelled_by ? `Cancelled by ${process.cancelled_by}.` : 'Cancelled.');
    case 'lost':
      return text('Outcome unknown: the hub restarted while this was running.');
    default:
      return [];
  }
}

function resultNodes(process) {
  const result = process.result;
  // The built-in benchmark's result: {"steps": N, "scores": {"model": mean score}}, best first.
  if (process.process_type === 'benchmark' && result && typeof result.scores === 'object' && result.scores !== null) {
    const rows = Object.entries(result.scores).sort((a, b) => (numberOf(b[1]) || 0) - (numberOf(a[1]) || 0));
    const caption = `Mean score per model${Number.isFinite(result.steps) ? ` over ${plural(result.steps, 'step', 'steps')}` : ''}`;
    return [table(caption, ['Model', 'Score'], rows.map(([model, score], index) => [model, formatValue(score), index === 0 && rows.length > 1]))];
  }
  if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
    const entries = Object.entries(result);
    const rows = entries.slice(0, 20).map(([name, value]) => [name, formatValue(value), false]);
    if (entries.length > 20) rows.push([`…and ${entries.length - 20} more`, '', false]);
    return [table('Result', ['Field', 'Value'], rows)];
  }
  const p = document.createElement('p');
  p.textContent = `Result: ${formatValue(result)}`;
  return [p];
}

function table(caption, headings, rows) {
  const element = document.createElement('table');
  element.className = 'result';
  element.createCaption().textContent = caption;
  const head = element.createTHead().insertRow();
  headings.forEach((heading, index) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = heading;
    if (index > 0) th.className = 'num';
    head.appendChild(th);
  });
  const body = element.createTBody();
  for (const [name, value, best] of rows) {
    const row = body.insertRow();
    if (best) row.className = 'best';
    const th = document.createElement('th');
    th.scope = 'row';
    // Kept on one line (app.css), so a long name is cut, whole in its tooltip.
    th.textContent = clip(name, 32);
    if (name.length > 32) th.title = name;
    row.appendChild(th);
    const cell = row.insertCell();
    cell.className = 'num';
    cell.textContent = value;
  }
  return element;
}

function formatValue(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
  if (typeof value !== 'object') return clip(String(value));
  if (Array.isArray(value) && value.every((item) => item === null || typeof item !== 'object')) return clip(value.join(', '));
  return clip(JSON.stringify(value));
}

// A result may hold up to 64 KiB: a card shows the start of a long value, not a wall of text.
function clip(text, length = 160) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// ---- rendering: DOM work batched per animation frame -----------------------------------------------------

const cards = new Map(); // process_id -> <li>

function markDirty(id) {
  state.dirty.add(id);
  requestFrame();
}

function rebuild() {
  for (const id of state.processes.keys()) state.dirty.add(id);
  for (const id of state.lost.keys()) state.dirty.add(id);
  state.dirty.add('*layout*');
  requestFrame();
}

function requestFrame() {
  if (!state.frameRequested) {
    state.frameRequested = true;
    requestAnimationFrame(flush);
  }
}

function find(id) {
  return state.processes.get(id) ?? state.lost.get(id);
}

function flush() {
  state.frameRequested = false;
  const layout = state.dirty.delete('*layout*');
  for (const id of state.dirty) {
    const process = find(id);
    // One card that cannot be drawn must not stop the others, nor the layout, from being drawn.
    if (process) renderSafely(process);
  }
  state.dirty.clear();
  if (layout) arrange();
}

function renderSafely(process) {
  try {
    return render(process);
  } catch (error) {
    console.error(`could not draw ${process.process_id}`, error);
    return cards.get(process.process_id);
  }
}

function arrange() {
  for (const [id, card] of cards) {
    if (!find(id)) { card.remove(); cards.delete(id); }
  }
  forgetOldestEnded();
  const newestFirst = (a, b) => (b.started_at || '').localeCompare(a.started_at || '');
  const all = [...state.processes.values()].sort(newestFirst);
  const running = all.filter((p) => p.status === 'running');
  const ended = all.filter((p) => p.status !== 'running').concat([...state.lost.values()].sort(newestFirst));
  // Moving a card out of the way and back (insertBefore) takes the focus from a button inside it: given back after.
  const focused = document.activeElement;
  place($('running'), running);
  place($('ended'), ended);
  if (focused instanceof HTMLElement && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
  $('running-count').textContent = count(running.length);
  updateTitle(running.length);
  $('ended-count').textContent = state.endedLetGo ? `${count(ended.length)}+` : count(ended.length);
  arrangeFailed(ended);
  $('ended-note').hidden = !state.endedLetGo;
  $('ended-note').textContent = state.endedLetGo
    ? `This page keeps the ${MAX_ENDED} most recently ended processes and lets older ones go, though the hub may still list them.`
    : '';
  $('running-empty').hidden = running.length > 0;
  $('ended-empty').hidden = ended.length > 0;
}

// A failure ends below every running card (and, on a narrow screen, below the start form): with dozens running it
// is out of sight. A line under "Running" says how many failed and leads to them; "Failed only" hides the rest of
// the ended list until pressed again, or until no failure is left to show.
function arrangeFailed(ended) {
  const failed = ended.filter((p) => p.status === 'failed').length;
  if (failed === 0) state.failedOnly = false;
  $('failed-line').hidden = failed === 0;
  setLiveText($('failed-jump'), `${failed === 1 ? '1 process' : `${count(failed)} processes`} failed recently`);
  const toggle = $('failed-only');
  toggle.hidden = failed === 0;
  setLiveText($('failed-only'), `Failed only (${count(failed)})`);
  toggle.setAttribute('aria-pressed', String(state.failedOnly));
  if (state.failedOnly) $('ended').dataset.filter = 'failed';
  else delete $('ended').dataset.filter;
}

function showFailedOnly(on) {
  state.failedOnly = on;
  state.dirty.add('*layout*');
  requestFrame();
}

// A tab left open for days would keep every process that ever ended (with results of up to 64 KiB) and redraw them
// all at each start or end. The hub forgets them after the retention window; the page keeps the most recently ended
// MAX_ENDED. A list can hold more (an owner keeps up to --max-processes-per-user ended ones), so the page says when
// it let some go: the count then reads "500+", and a note says why.
// The hub says nothing when it forgets an ended process (docs/protocol.md 5.7); the list says after how long it does.
// The page lets a card go at the same moment, on the hub's clock (a browser's clock may be minutes off), so that what
// it shows is what a reload would show. Checked every second with the clocks.
function forgetExpired() {
  if (state.retentionMs === null) return;
  const now = Date.now() + state.hubClockMs;
  let gone = false;
  for (const process of [...state.processes.values()]) {
    const ended = Date.parse(process.ended_at);
    if (process.status !== 'running' && Number.isFinite(ended) && ended + state.retentionMs <= now) {
      state.processes.delete(process.process_id);
      gone = true;
    }
  }
  if (gone) {
    state.dirty.add('*layout*');
    requestFrame();
  }
}

function forgetOldestEnded() {
  const ended = [...state.processes.values()].filter((p) => p.status !== 'running');
  if (ended.length <= MAX_ENDED) return;
  state.endedLetGo = true;
  ended.sort((a, b) => (a.ended_at || '').localeCompare(b.ended_at || ''));
  for (const process of ended.slice(0, ended.length - MAX_ENDED)) {
    state.processes.delete(process.process_id);
    const card = cards.get(process.process_id);
    if (card) { card.remove(); cards.delete(process.process_id); }
  }
}

function place(list, processes) {
  processes.forEach((process, index) => {
    const card = cards.get(process.process_id) ?? renderSafely(process);
    if (card && list.children[index] !== card) list.insertBefore(card, list.children[index] ?? null);
  });
}

function render(process) {
  let card = cards.get(process.process_id);
  if (!card) {
    card = $('card-template').content.firstElementChild.cloneNode(true);
    card.dataset.processId = process.process_id;
    card.querySelector('.cancel').addEventListener('click', () => onCancelClick(card, process.process_id));
    cards.set(process.process_id, card);
  }
  const running = process.status === 'running';
  const stale = running && state.link !== 'open';
  const progress = process.progress ?? { current: 0, total: 0 };
  const current = Number(progress.current) || 0;
  const total = Number(progress.total) || 0;
  const percent = total > 0 ? Math.min(100, Math.round((current / total) * 100)) : (process.status === 'completed' ? 100 : 0);
  const what = describe(process);
  card.dataset.status = process.status;
  card.dataset.stale = String(stale);
  setText(card, '.title', what.title);
  card.querySelector('.title').title = what.full;
  setText(card, '.subtitle', what.subtitle);
  const badge = card.querySelector('.badge');
  badge.dataset.status = process.status;
  setText(card, '.badge', process.status);
  setText(card, '.owner', process.owner ? `by ${process.owner}` : '');
  const bar = card.querySelector('.bar');
  bar.setAttribute('aria-valuemax', String(total));
  bar.setAttribute('aria-valuenow', String(current));
  bar.setAttribute('aria-label', `${what.title} progress`);
  card.querySelector('.fill').style.width = `${percent}%`;
  setText(card, '.counts', `${count(current)} / ${count(total)} · ${percent}%`);
  setClipped(card, '.model', textOf(progress.model), 160);
  setClipped(card, '.detail', textOf(progress.detail), 300);
  setText(card, '.pid', process.process_id);
  const cancelButton = card.querySelector('.cancel');
  if (!running && document.activeElement === cancelButton) focusNextCancel(card);
  cancelButton.hidden = !running;
  cancelButton.disabled = stale;
  cancelButton.title = stale ? 'Not connected: a cancel cannot reach the hub now' : '';
  cancelButton.dataset.what = `${what.title} (${process.process_id})`;
  labelCancel(cancelButton);
  renderOutcome(card, process);
  renderClock(card, process);
  return card;
}

// Rebuilt only when what it shows changed: a result table is not redrawn for every progress event.
function renderOutcome(card, process) {
  const source = process.result ?? process.error ?? process.cancelled_by ?? process.omitted ?? null;
  if (card.outcomeStatus === process.status && card.outcomeSource === source) return;
  card.outcomeStatus = process.status;
  card.outcomeSource = source;
  card.querySelector('.outcome').replaceChildren(...outcomeNodes(process));
}

function renderClock(card, process) {
  const started = Date.parse(process.started_at);
  let clock;
  let eta = '';
  if (process.status === 'running' || process.status === 'lost') {
    // Frozen while disconnected: a clock that kept going would claim a progress nobody can see. On the hub's clock,
    // as started_at is: a browser minutes off showed a process just started as running for minutes.
    const now = (process.status === 'lost' ? process.lost_at : state.offlineSince ?? Date.now()) + state.hubClockMs;
    const elapsed = Math.max(0, now - started);
    clock = `Elapsed ${duration(elapsed)}`;
    const { current = 0, total = 0 } = process.progress ?? {};
    if (process.status === 'running' && current > 0 && total > current) {
      const left = (elapsed / current) * (total - current);
      // A total in the billions with one step done gave "ETA 72436777110554190h 05m": past a month, an estimate
      // from the pace so far says nothing a person can plan by.
      eta = left < 500 ? 'ETA <1s' : left > ETA_LONGEST_MS ? 'ETA over 30 days' : `ETA ${duration(left)}`;
    }
  } else {
    const took = Number.isFinite(process.duration_ms) ? process.duration_ms : Date.parse(process.ended_at) - started;
    clock = Number.isFinite(took) ? `Took ${duration(Math.max(0, took), true)}` : '';
  }
  setText(card, '.clock', clock);
  setText(card, '.eta', eta);
}

// Producer values are JSON of any shape (docs/protocol.md 1.4: progress fields are kept as sent), shown as text and
// never asked to convert themselves: an object such as {"toString":0} throws in String(), Number() and textContent,
// and one such value used to stop the page from drawing anything more.
function textOf(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function numberOf(value) {
  return typeof value === 'number' ? value : NaN;
}

function setText(root, selector, text) {
  const element = root.querySelector(selector);
  if (element.textContent !== text) element.textContent = text;
}

// A producer's free text may run to kilobytes (a whole log line as detail): the card shows its start, the tooltip
// all of it, as for an error message, so that one long report does not make a card pages tall.
function setClipped(root, selector, text, length) {
  setText(root, selector, clip(text, length));
  const element = root.querySelector(selector);
  const title = text.length > length ? text : '';
  if (element.title !== title) element.title = title;
}

function duration(ms, precise = false) {
  // "Took 0.0s" read as if nothing was measured: an instant process took under a tenth of a second.
  if (precise && ms < 50) return '<0.1s';
  if (precise && ms < 10000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

// Elapsed and ETA move every second without events, but only while live; the reconnect countdown too.
setInterval(() => {
  if (state.link === 'open') {
    for (const process of state.processes.values()) {
      const card = cards.get(process.process_id);
      if (card && process.status === 'running') renderClock(card, process);
    }
    forgetExpired();
  }
  updateOffline();
}, 1000);

// ---- actions ------------------------------------------------------------------------------------------------

function onCancelClick(card, id) {
  const button = card.querySelector('.cancel');
  if (!card.confirmTimer) {
    button.textContent = 'Confirm cancel';
    button.dataset.confirm = 'true';
    labelCancel(button);
    card.confirmTimer = setTimeout(() => resetCancel(card), CONFIRM_MS);
    return;
  }
  resetCancel(card);
  cancel(id);
}

function resetCancel(card) {
  clearTimeout(card.confirmTimer);
  card.confirmTimer = 0;
  const button = card.querySelector('.cancel');
  button.textContent = 'Cancel';
  delete button.dataset.confirm;
  labelCancel(button);
}

// The accessible name says which process, and that a second press is wanted: the visible "Confirm cancel" alone
// would be hidden behind a label that still said "Cancel …".
function labelCancel(button) {
  button.setAttribute('aria-label', `${button.dataset.confirm ? 'Confirm cancel of' : 'Cancel'} ${button.dataset.what ?? ''}`.trim());
}

// A process that ends while its Cancel has the focus (cancelled from the keyboard, or ended by itself) moves to the
// ended list and its button goes: the focus moves to the next running card's Cancel (or the one before), so that a
// keyboard user stays where they were in the list instead of starting again from the top of the page.
function focusNextCancel(card) {
  const usable = (item) => item?.querySelector('.cancel:not([hidden]):not(:disabled)');
  let target = null;
  for (let item = card.nextElementSibling; item && !target; item = item.nextElementSibling) target = usable(item);
  for (let item = card.previousElementSibling; item && !target; item = item.previousElementSibling) target = usable(item);
  if (target) {
    target.focus();
  } else {
    card.tabIndex = -1;
    card.focus();
  }
}

function cancel(id) {
  if (state.link !== 'open') return;
  send({ type: 'cancel_process', process_id: id, request_id: `cancel-${++state.requestSeq}` });
}

async function startBenchmark(event) {
  event.preventDefault();
  if (state.link !== 'open') return;
  const list = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = {
    models: list($('models').value),
    runs: Number($('runs').value),
    contexts: list($('contexts').value),
    step_ms: Number($('step-ms').value),
  };
  state.starting = true;
  updateStart();
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
    state.starting = false;
    updateStart();
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
  $('signin-dev').hidden = true;
  state.attempt = 0;
  connect();
});
$('signin-dev-button').addEventListener('click', () => {
  $('signin-dev').hidden = true;
  $('signin').hidden = true;
  state.attempt = 0;
  connect();
});
$('failed-only').addEventListener('click', () => showFailedOnly(!state.failedOnly));
$('failed-jump').addEventListener('click', () => showFailedOnly(true)); // and the link scrolls to the ended list
$('notice-dismiss').addEventListener('click', () => {
  $('notice').hidden = true;
  state.lost.clear();
  rebuild();
});
// On a phone the running processes come first and the start form folds away until asked for.
if (PHONE.matches) $('start-panel').open = false;

connect();
