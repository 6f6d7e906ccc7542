// The console: pick a VM, start it if needed, and attach a terminal to
// its shell websocket (protocol microvm.shell.v1, see /docs). The
// browser's session cookie authenticates every request; this script
// never sees a credential.
'use strict';

const SUBPROTOCOL = 'microvm.shell.v1';
const CH_STDIN = 0, CH_OUTPUT = 1, CH_STATUS = 3, CH_RESIZE = 4;

const $ = (id) => document.getElementById(id);
const ui = {
  vm: $('vm'), state: $('state'), start: $('start'),
  message: $('message'), closed: $('closed'), closedText: $('closed-text'),
  reconnect: $('reconnect'),
};
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const term = new window.Terminal({
  cursorBlink: true,
  fontFamily: 'DejaVu Sans Mono, Menlo, Consolas, monospace',
  fontSize: 14,
  scrollback: 5000,
});
const fit = new window.FitAddon.FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
fit.fit();

let socket = null;
let vms = [];

function say(text, isError) {
  ui.message.textContent = text;
  ui.message.className = isError ? 'error' : '';
}

// api calls the daemon with the session cookie and returns the decoded
// JSON, or throws with the problem's detail.
async function api(method, path) {
  const resp = await fetch(path, { method, credentials: 'same-origin' });
  if (resp.status === 401) {
    throw new Error('the session has expired: run `microvm-api console` again');
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw new Error(body.detail || body.title || `${method} ${path}: ${resp.status}`);
  }
  return body;
}

function selected() {
  return vms.find((v) => v.name === ui.vm.value);
}

function showState(vm) {
  ui.state.textContent = vm ? vm.state : '';
  ui.state.className = 'state ' + (vm ? vm.state : '');
  ui.start.hidden = !vm || vm.state === 'running';
}

async function loadVMs(preferred) {
  const list = await api('GET', '/v1/vms');
  vms = list.vms || [];
  ui.vm.replaceChildren(...vms.map((v) => new Option(v.name, v.name)));
  ui.vm.disabled = vms.length === 0;
  const want = preferred || (vms.some((v) => v.name === 'default') ? 'default' : '');
  if (want && vms.some((v) => v.name === want)) {
    ui.vm.value = want;
  }
  if (vms.length === 0) {
    say('no VMs yet: create one with the API');
  }
}

async function pick() {
  disconnect();
  ui.closed.hidden = true;
  const vm = selected();
  showState(vm);
  if (vm) {
    history.replaceState(null, '', '#' + encodeURIComponent(vm.name));
    document.title = `${vm.name} · microvm console`;
  }
  if (vm && vm.state === 'running') {
    connect();
  }
}

async function start() {
  const vm = selected();
  ui.start.disabled = true;
  say(`starting ${vm.name}…`);
  try {
    const started = await api('POST', `/v1/vms/${encodeURIComponent(vm.name)}/start`);
    Object.assign(vm, started);
    say('');
    showState(vm);
    if (vm.state === 'running') {
      connect();
    }
  } catch (err) {
    say(err.message, true);
  } finally {
    ui.start.disabled = false;
  }
}

function send(channel, payload) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    return;
  }
  const frame = new Uint8Array(payload.length + 1);
  frame[0] = channel;
  frame.set(payload, 1);
  socket.send(frame);
}

function connect() {
  const vm = selected();
  if (!vm) {
    return;
  }
  disconnect();
  ui.closed.hidden = true;
  fit.fit();
  term.reset();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/v1/vms/${encodeURIComponent(vm.name)}/shell` +
    `?cols=${term.cols}&rows=${term.rows}`;
  const ws = new WebSocket(url, SUBPROTOCOL);
  ws.binaryType = 'arraybuffer';
  let status = null;
  ws.onopen = () => {
    say(`connected to ${vm.name}`);
    showState(vm);
    term.focus();
  };
  ws.onmessage = (ev) => {
    if (!(ev.data instanceof ArrayBuffer) || ev.data.byteLength === 0) {
      return;
    }
    const frame = new Uint8Array(ev.data);
    const payload = frame.subarray(1);
    if (frame[0] === CH_OUTPUT) {
      term.write(payload);
    } else if (frame[0] === CH_STATUS) {
      try {
        status = JSON.parse(decoder.decode(payload));
      } catch {
        status = null;
      }
    }
  };
  ws.onclose = (ev) => {
    if (socket !== ws) {
      return; // replaced by a newer connection
    }
    socket = null;
    showClosed(status, ev);
    showState(vm);
  };
  socket = ws;
}

function disconnect() {
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close(1000);
  }
}

function showClosed(status, ev) {
  let text;
  if (status && typeof status.exitCode === 'number') {
    text = `The shell exited with code ${status.exitCode}`;
    if (status.reason) {
      text += ` (${status.reason})`;
    }
  } else if (ev.reason) {
    text = `Disconnected: ${ev.reason}`;
  } else {
    text = `Disconnected (code ${ev.code})`;
  }
  ui.closedText.textContent = text + '.';
  ui.closed.hidden = false;
  say('');
  ui.reconnect.focus();
}

term.onData((data) => send(CH_STDIN, encoder.encode(data)));
term.onBinary((data) => send(CH_STDIN, Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
term.onResize(({ cols, rows }) => send(CH_RESIZE, encoder.encode(JSON.stringify({ cols, rows }))));
new ResizeObserver(() => fit.fit()).observe($('terminal'));

$('logout').addEventListener('click', async () => {
  disconnect();
  await fetch('/v1/console/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
  location.replace('/console');
});

ui.vm.addEventListener('change', pick);
ui.start.addEventListener('click', start);
ui.reconnect.addEventListener('click', async () => {
  try {
    await loadVMs(ui.vm.value);
  } catch (err) {
    say(err.message, true);
    return;
  }
  const vm = selected();
  showState(vm);
  if (vm && vm.state === 'running') {
    connect();
  } else {
    ui.closed.hidden = true;
  }
});

(async () => {
  try {
    await loadVMs(decodeURIComponent(location.hash.slice(1)));
    await pick();
  } catch (err) {
    say(err.message, true);
  }
})();
