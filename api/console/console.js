// Confab's web console (issue 16): one page that runs live meetings through the REST API.
//
// Rules this file keeps:
// - The API key lives in sessionStorage only (gone when the tab closes), and every call goes
//   through the same REST API with the same bearer auth as any other client.
// - Text from the server (room names, display names, URIs, problem details) only ever becomes
//   DOM text (textContent, attribute values): never HTML. The page's Content-Security-Policy
//   also allows no inline script, so a display name of <script> stays text twice over.
// - What happens in a room reaches the page through the /v1/events WebSocket within a second;
//   the roster's media statistics (loss, jitter), which the mixer samples once a second, are
//   read again every two seconds while a room is open.
'use strict';

(() => {
  const KEY_ITEM = 'confab.apiKey';
  const main = document.getElementById('main');
  const notice = document.getElementById('notice');
  const connection = document.getElementById('connection');
  const signOutButton = document.getElementById('sign-out');

  // ---- Small DOM helpers ---------------------------------------------------------------------

  // el('button', {class: 'x', onclick: f, 'data-action': 'mute'}, 'Mute'): strings become text
  // nodes, never markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on')) {
        node.addEventListener(name.slice(2), value);
      } else if (name === 'text') {
        node.textContent = value;
      } else if (value === true) {
        node.setAttribute(name, '');
      } else {
        node.setAttribute(name, String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(...nodes) {
    main.replaceChildren(...nodes);
  }

  let noticeTimer = 0;
  function say(text, kind) {
    notice.textContent = text;
    notice.className = 'notice ' + (kind || 'info');
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, kind === 'error' ? 10000 : 4000);
  }

  function time(ms) {
    return new Date(ms).toLocaleTimeString([], {hour12: false});
  }

  // ---- The API -------------------------------------------------------------------------------

  function key() {
    return sessionStorage.getItem(KEY_ITEM) || '';
  }

  class ApiError extends Error {
    constructor(status, problem) {
      const detail = problem && problem.detail ? problem.detail : 'HTTP ' + status;
      const fields = problem && Array.isArray(problem.errors)
        ? problem.errors.map((e) => e.field + ': ' + e.detail).join('; ') : '';
      super(fields ? detail + ' (' + fields + ')' : detail);
      this.status = status;
      this.problem = problem;
    }
  }

  // One call: JSON in, JSON out; a problem+json answer becomes an ApiError naming its fields.
  async function api(method, path, body, headers) {
    const init = {method, headers: Object.assign({Authorization: 'Bearer ' + key()}, headers)};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) throw failure(response.status, data);
    return {data, etag: response.headers.get('ETag')};
  }

  // The error for a refused call. A 401 means the key is no good any more (revoked, or the
  // tenant deleted): the page signs out, and that message is the one the user sees.
  function failure(status, problem) {
    const error = new ApiError(status, problem);
    if (status === 401) {
      signOut('The key was refused (' + (problem && problem.detail ? problem.detail : '401') +
        '): sign in again.');
      error.signedOut = true;
    }
    return error;
  }

  // Runs an action of a button, saying what went wrong if it did (unless it signed the user out,
  // which says so itself).
  async function act(what, f) {
    try {
      await f();
    } catch (e) {
      if (e && e.signedOut) return;
      if (e && e.status === 412) {
        say(what + ' failed: someone changed this room after you opened it. ' +
          'Nothing was overwritten; open it again to see their change.', 'error');
        return;
      }
      say(what + ' failed: ' + e.message, 'error');
    }
  }

  const part = encodeURIComponent;

  // ---- Live events ---------------------------------------------------------------------------

  let socket = null;
  let retries = 0;
  let retryTimer = 0;
  const activity = [];             // newest last, at most kActivity
  const kActivity = 200;
  const names = new Map();         // callId -> what to call them
  const talking = new Map();       // callId -> bool, as the last event said
  const lastParticipant = new Map();  // callId -> the last participant object seen
  const lastConference = new Map();   // room -> the last conference object seen
  let view = null;                 // what the page shows now: {kind, room?, onEvent?}

  function setConnection(state) {
    connection.textContent = {live: '● live', connecting: '○ connecting', offline: '○ offline'}[state] || '';
    connection.className = 'connection ' + state;
    connection.dataset.state = state;
  }

  function connectEvents() {
    if (!key() || socket) return;
    const url = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/v1/events';
    // A browser's WebSocket cannot send Authorization: the key goes as a subprotocol, which the
    // server takes in its place and never echoes (it answers "confab.events").
    const ws = new WebSocket(url, ['confab.events', 'bearer.' + key()]);
    socket = ws;
    setConnection('connecting');
    ws.addEventListener('open', () => {
      retries = 0;
      setConnection('live');
      if (view && view.reload) view.reload();  // what happened while it was down
    });
    ws.addEventListener('message', (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      onEvent(event);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      setConnection('offline');
      if (key()) {
        retryTimer = setTimeout(connectEvents, Math.min(10000, 500 * 2 ** retries++));
        // The server closes a revoked key's stream, and a browser hides why a handshake failed:
        // one plain call finds out, and a 401 signs out (failure()) instead of retrying forever.
        api('GET', '/v1/rooms?limit=1').catch(() => {});
      }
    });
  }

  // The URI of a From or To header value ('"Ann" <sip:ann@x>;tag=1' -> 'sip:ann@x').
  // The display name is skipped first: as a quoted-string it may hold '<' itself (RFC 3261 §25.1).
  function uriOf(header) {
    if (!header) return '';
    const rest = header.replace(/^\s*"(?:[^"\\]|\\.)*"\s*/, '');
    const angle = /^[^<]*<([^>]*)>/.exec(rest);
    return angle ? angle[1] : rest.split(';')[0].trim();
  }

  function nameOf(p) {
    return p.displayName || p.entity || p.uri || uriOf(p.from) || p.callId;
  }

  // What an event says, in a line of the activity log (null: not worth a line).
  function describe(e) {
    const p = e.participant || {};
    const who = p.callId ? (names.get(p.callId) || p.callId) : '';
    switch (e.type) {
      case 'conference.started': return 'conference started';
      case 'conference.ended': return 'conference ended';
      case 'participant.joined': return who + ' joined as ' + p.role + (p.codec ? ' (' + p.codec + ')' : '');
      case 'participant.left': return who + ' left' + (p.disconnection ? ' (' + p.disconnection + (p.reason ? ': ' + p.reason : '') + ')' : '');
      case 'participant.key': return who + ' pressed ' + e.key;
      case 'participant.updated': {
        // Against what the page knew (a member it never saw is no change).
        const before = lastParticipant.get(p.callId) || {};
        const changed = (name) => name in before && before[name] !== p[name];
        const changes = [];
        if (changed('muted')) changes.push(p.muted ? 'muted' : 'unmuted');
        if (changed('deaf')) changes.push(p.deaf ? 'deafened' : 'hears again');
        if (changed('role')) changes.push('now ' + p.role);
        if (changed('onHold')) changes.push(p.onHold ? 'on hold' : 'back from hold');
        if (changed('status')) changes.push(p.status);
        return changes.length ? who + ': ' + changes.join(', ') : null;
      }
      case 'conference.changed': {
        const before = lastConference.get(e.room) || {};
        const c = e.conference || {};
        const changed = (name) => name in before && before[name] !== c[name];
        const changes = [];
        if (changed('locked')) changes.push(c.locked ? 'locked' : 'unlocked');
        if (changed('allMuted')) changes.push(c.allMuted ? 'all muted' : 'all unmuted');
        if (changed('recording')) changes.push(c.recording ? 'recording' : 'recording stopped');
        return changes.length ? 'room ' + changes.join(', ') : null;
      }
      default: return null;
    }
  }

  function onEvent(e) {
    if (!e || typeof e !== 'object') return;
    const p = e.participant;
    if (p && p.callId && (p.displayName || p.entity)) names.set(p.callId, nameOf(p));
    if (e.type === 'participant.talking' && p) {
      talking.set(p.callId, e.talking === true);
    }
    const line = describe(e);
    if (line) {
      activity.push({time: e.time || Date.now(), room: e.room, text: line});
      if (activity.length > kActivity) activity.shift();
    }
    if (p && e.type !== 'participant.talking' && e.type !== 'participant.key') {
      lastParticipant.set(p.callId, p);
    }
    if (e.conference) lastConference.set(e.room, e.conference);
    if (view && view.onEvent) view.onEvent(e, line);
  }

  function logList(room) {
    const list = el('ol', {class: 'log', 'aria-live': 'polite', id: 'activity'});
    for (const entry of activity) {
      if (room === undefined || entry.room === room) list.prepend(logItem(entry, room === undefined));
    }
    return list;
  }

  function logItem(entry, withRoom) {
    return el('li', {}, el('time', {text: time(entry.time)}), ' ',
      withRoom ? el('span', {class: 'room-tag', text: entry.room}) : null, withRoom ? ' ' : null,
      entry.text);
  }

  function addLogLine(e, line, withRoom) {
    const list = document.getElementById('activity');
    if (!list || !line) return;
    list.prepend(logItem({time: e.time || Date.now(), room: e.room, text: line}, withRoom));
    while (list.children.length > kActivity) list.lastChild.remove();
  }

  // ---- Sign in -------------------------------------------------------------------------------

  function signOut(why) {
    sessionStorage.removeItem(KEY_ITEM);
    clearTimeout(retryTimer);
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close();
    }
    setConnection('');
    if (why) say(why, 'error');
    route();
  }

  function showSignIn() {
    signOutButton.hidden = true;
    const input = el('input', {id: 'key', type: 'password', autocomplete: 'off', required: true,
      placeholder: 'confab_…', 'aria-label': 'API key'});
    const form = el('form', {class: 'card sign-in', id: 'sign-in'},
      el('h1', {text: 'Sign in'}),
      el('p', {text: 'Your tenant\'s API key (from the operator, or "confab key add"). It is kept in this tab only.'}),
      el('label', {for: 'key', text: 'API key'}), input,
      el('button', {type: 'submit', text: 'Sign in'}));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      sessionStorage.setItem(KEY_ITEM, token);
      try {
        await api('GET', '/v1/rooms?limit=1');
      } catch (e) {
        sessionStorage.removeItem(KEY_ITEM);
        say('Not signed in: ' + e.message, 'error');
        return;
      }
      notice.hidden = true;
      location.hash = '#/';
      route();
    });
    show(form);
    input.focus();
  }

  // ---- Rooms ---------------------------------------------------------------------------------

  async function showRooms() {
    const body = el('tbody');
    const table = el('table', {class: 'rooms', id: 'rooms'},
      el('thead', {}, el('tr', {}, el('th', {text: 'Room'}), el('th', {text: 'Dial'}),
        el('th', {text: 'In now', class: 'num'}), el('th', {text: 'State'}))), body);
    show(el('section', {class: 'card'},
      el('div', {class: 'title-row'}, el('h1', {text: 'Rooms'}),
        el('a', {class: 'button', href: '#/new', id: 'new-room', text: 'New room'})),
      el('div', {class: 'scroll'}, table)),
    el('section', {class: 'card'}, el('h2', {text: 'Activity'}), logList()));
    const rows = new Map();
    const render = (rooms) => {
      body.replaceChildren();
      rows.clear();
      for (const r of rooms) {
        const count = el('td', {class: 'num', 'data-room-count': r.id, text: r.participants || 0});
        const row = el('tr', {'data-room': r.id},
          el('td', {}, el('a', {href: '#/rooms/' + part(r.id), text: r.name || r.id})),
          el('td', {class: 'mono', text: r.id}), count,
          el('td', {text: [r.locked ? 'locked' : '', r.pins && r.pins.participant ? 'PIN' : ''].filter(Boolean).join(', ')}));
        rows.set(r.id, count);
        body.append(row);
      }
      if (!rooms.length) body.append(el('tr', {}, el('td', {colspan: 4, text: 'No rooms yet.'})));
    };
    const load = async () => {
      let all = [];
      let next = '/v1/rooms?limit=200';
      // Every page: a tenant's rooms are a few hundred at most.
      for (let pages = 0; next && pages < 20; ++pages) {
        const {data} = await api('GET', next);
        all = all.concat(data.rooms);
        next = data.next;
      }
      render(all);
    };
    view = {
      kind: 'rooms',
      reload: () => act('Reading the rooms', load),
      onEvent: (e, line) => {
        const cell = rows.get(e.room);
        if (cell && e.conference) {
          cell.textContent = e.type === 'conference.ended' ? 0 : e.conference.participants;
        }
        addLogLine(e, line, true);
      },
    };
    await act('Reading the rooms', load);
  }

  // ---- One room ------------------------------------------------------------------------------

  function percent(fraction) {
    return typeof fraction === 'number' ? (fraction * 100).toFixed(1) + ' %' : '–';
  }

  function millis(ms) {
    return typeof ms === 'number' ? ms.toFixed(0) + ' ms' : '–';
  }

  async function showRoom(id) {
    const base = '/v1/rooms/' + part(id);
    const title = el('h1', {text: id});
    const state = el('p', {class: 'state', id: 'room-state'});
    const controls = el('div', {class: 'controls', id: 'room-controls'});
    const roster = el('tbody', {id: 'roster'});
    const recordings = el('ul', {class: 'recordings', id: 'recordings'});
    const dialUri = el('input', {id: 'dial-uri', type: 'text', placeholder: 'sip:alice@example.com',
      'aria-label': 'SIP URI to call', autocomplete: 'off'});
    const dial = el('form', {class: 'dial', id: 'dial-out'}, dialUri,
      el('button', {type: 'submit', text: 'Call'}));
    show(
      el('section', {class: 'card'},
        el('div', {class: 'title-row'}, title,
          el('a', {class: 'button quiet', href: '#/rooms/' + part(id) + '/edit', id: 'edit-room', text: 'Edit room'})),
        state, controls),
      el('section', {class: 'card'}, el('h2', {text: 'Participants'}),
        el('div', {class: 'scroll'}, el('table', {class: 'roster'},
          el('thead', {}, el('tr', {}, el('th', {text: 'Who'}), el('th', {text: 'Role'}),
            el('th', {text: 'Codec'}), el('th', {text: 'Audio'}), el('th', {text: 'Loss / jitter'}),
            el('th', {text: 'Actions'}))), roster)),
        el('h3', {text: 'Dial out'}), dial),
      el('section', {class: 'card'}, el('h2', {text: 'Recordings'}), recordings),
      el('section', {class: 'card'}, el('h2', {text: 'Activity'}), logList(id)));

    let room = null;
    const load = async () => {
      room = (await api('GET', base)).data;
      render();
    };
    const patchParticipant = (callId, change, what) => act(what, async () => {
      await api('PATCH', base + '/participants/' + part(callId), change);
      await load();
    });
    const button = (text, action, onclick, pressed) => el('button', {type: 'button', 'data-action': action,
      'aria-pressed': pressed === undefined ? undefined : String(pressed), text, onclick});

    function renderControls() {
      const c = room.conference;
      const live = c !== null && c !== undefined;
      controls.replaceChildren(
        button(c && c.locked ? 'Unlock' : 'Lock', 'lock', () => act('Locking', async () => {
          await api('PATCH', base + '/conference', {locked: !(c && c.locked)});
          await load();
        }), !!(c && c.locked)),
        button(c && c.allMuted ? 'Unmute all' : 'Mute all', 'mute-all', () => act('Muting all', async () => {
          await api('PATCH', base + '/conference', {allMuted: !(c && c.allMuted)});
          await load();
        }), !!(c && c.allMuted)),
        button(room.recording ? 'Stop recording' : 'Record', 'record', () => act('Recording', async () => {
          if (room.recording) {
            await api('DELETE', base + '/recording');
          } else {
            await api('POST', base + '/recording', {format: 'wav'});
          }
          await load();
          await loadRecordings();
        }), !!room.recording),
        el('button', {type: 'button', class: 'danger', 'data-action': 'end', text: 'End meeting',
          onclick: () => {
            if (!confirm('End the meeting and hang up on everyone in ' + id + '?')) return;
            act('Ending', async () => {
              const {data} = await api('DELETE', base + '/conference');
              say('Ended: ' + data.removed + ' removed');
              await load();
            });
          }}));
      for (const b of controls.querySelectorAll('button')) b.disabled = !live;
    }

    function renderRoster() {
      // A select being used is not pulled from under the user's hand.
      if (roster.contains(document.activeElement) && document.activeElement.tagName === 'SELECT') return;
      roster.replaceChildren();
      const people = room.participants || [];
      for (const p of people) {
        names.set(p.callId, nameOf(p));
        if (!lastParticipant.has(p.callId)) {
          lastParticipant.set(p.callId, {muted: p.muted, deaf: p.deaf, role: p.role, status: p.status});
        }
        const talks = talking.has(p.callId) ? talking.get(p.callId) : p.talking === true;
        const role = el('select', {'aria-label': 'Role', 'data-action': 'role'},
          ...['participant', 'moderator', 'listener'].map((r) => el('option', {value: r, selected: p.role === r, text: r})));
        role.addEventListener('change', () => patchParticipant(p.callId, {role: role.value}, 'Changing the role'));
        const media = p.media || {};
        const row = el('tr', {'data-call': p.callId, 'data-talking': String(talks),
          'data-muted': String(!!p.muted), 'data-deaf': String(!!p.deaf)},
          el('td', {class: 'who'},
            el('span', {class: 'talk', title: 'talking', 'aria-label': talks ? 'talking' : 'silent'}),
            el('span', {class: 'name', text: nameOf(p)}),
            el('span', {class: 'uri mono', text: nameOf(p) === (p.uri || uriOf(p.from)) ? '' : (p.uri || uriOf(p.from))})),
          el('td', {}, role),
          el('td', {class: 'mono', text: (p.codec || '–') + (p.srtp ? ' 🔒' : '')}),
          el('td', {class: 'flags'},
            p.muted ? el('span', {class: 'flag muted', text: 'muted'}) : null,
            p.deaf ? el('span', {class: 'flag deaf', text: 'deaf'}) : null,
            p.status && p.status !== 'connected' ? el('span', {class: 'flag', text: p.status}) : null),
          el('td', {class: 'mono', text: percent(media.fractionLost) + ' / ' + millis(media.jitterMs)}),
          el('td', {class: 'actions'},
            button(p.muted ? 'Unmute' : 'Mute', 'mute', () => patchParticipant(p.callId, {muted: !p.muted}, 'Muting'), !!p.muted),
            button(p.deaf ? 'Undeafen' : 'Deafen', 'deaf', () => patchParticipant(p.callId, {deaf: !p.deaf}, 'Deafening'), !!p.deaf),
            el('button', {type: 'button', class: 'danger', 'data-action': 'kick', text: 'Remove',
              onclick: () => act('Removing', async () => {
                await api('DELETE', base + '/participants/' + part(p.callId));
                say('Removed ' + nameOf(p));
                await load();
              })})));
        roster.append(row);
      }
      if (!people.length) roster.append(el('tr', {}, el('td', {colspan: 6, text: 'Nobody is in this room.'})));
    }

    function render() {
      if (room.conference && !lastConference.has(id)) {
        lastConference.set(id, {locked: room.conference.locked, allMuted: room.conference.allMuted,
          recording: room.recording});
      }
      title.textContent = room.name && room.name !== room.id ? room.name + ' (' + room.id + ')' : room.id;
      const c = room.conference;
      state.textContent = [
        c ? (room.participants || []).length + ' in the meeting' : 'no meeting running',
        c && c.locked ? 'locked' : '', c && c.allMuted ? 'all muted' : '',
        room.recording ? 'recording' : '', room.playing ? 'playing a file' : '',
      ].filter(Boolean).join(' · ');
      renderControls();
      renderRoster();
    }

    async function loadRecordings() {
      const {data} = await api('GET', base + '/recordings?limit=50');
      recordings.replaceChildren();
      for (const r of data.recordings) {
        recordings.append(el('li', {'data-recording': r.name},
          el('span', {class: 'mono', text: r.name}), ' ',
          el('span', {class: 'size', text: r.recording ? '(recording now)' : Math.round(r.bytes / 1024) + ' KiB'}), ' ',
          r.recording ? null : el('button', {type: 'button', 'data-action': 'download', text: 'Download',
            onclick: () => act('Downloading', () => download(base + '/recordings/' + part(r.name), r.name))})));
      }
      if (!data.recordings.length) recordings.append(el('li', {text: 'None yet.'}));
    }

    dial.addEventListener('submit', (event) => {
      event.preventDefault();
      act('Calling out', async () => {
        const {data} = await api('POST', base + '/participants', {uri: dialUri.value.trim()});
        say('Calling ' + data.uri);
        dialUri.value = '';
      });
    });

    let pending = 0;
    const soon = () => {
      // Events come in bursts (a join is several): one read for a burst.
      if (pending) return;
      pending = setTimeout(() => {
        pending = 0;
        act('Reading the room', load);
      }, 150);
    };
    const poll = setInterval(() => {
      if (view && view.room === id && !document.hidden) act('Reading the room', load);
    }, 2000);
    view = {
      kind: 'room',
      room: id,
      reload: soon,
      leave: () => clearInterval(poll),
      onEvent: (e, line) => {
        if (e.room !== id) return;
        addLogLine(e, line, false);
        if (e.type === 'participant.talking') {
          const row = roster.querySelector('tr[data-call="' + CSS.escape(e.participant.callId) + '"]');
          if (row) {
            row.dataset.talking = String(e.talking === true);
            row.querySelector('.talk').setAttribute('aria-label', e.talking ? 'talking' : 'silent');
          }
          return;
        }
        if (e.type === 'participant.left' && e.participant) talking.delete(e.participant.callId);
        if (e.type !== 'participant.key') soon();
      },
    };
    await act('Reading the room', load);
    await act('Reading the recordings', loadRecordings);
  }

  // A download through the API (it needs the key, which a plain link cannot send).
  async function download(path, name) {
    const response = await fetch(path, {headers: {Authorization: 'Bearer ' + key()}});
    if (!response.ok) throw failure(response.status, await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    const a = el('a', {href: url, download: name});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ---- The room editor -----------------------------------------------------------------------

  const kFlags = [
    ['muteOnEntry', 'Callers join muted'],
    ['waitForModerator', 'Callers wait for a moderator'],
    ['endWhenLastModeratorLeaves', 'End when the last moderator leaves'],
    ['entryExitTones', 'Tones when someone joins or leaves'],
    ['announceCount', 'Tell callers how many are in'],
    ['locked', 'Locked (nobody new joins)'],
    ['publicRoster', 'Callers may see the roster (RFC 4575)'],
    ['participantsInvite', 'Participants may invite others'],
  ];
  const kPins = [['participantPin', 'participant', 'Participant PIN'],
    ['moderatorPin', 'moderator', 'Moderator PIN'], ['listenerPin', 'listener', 'Listener PIN']];

  async function showEditor(id) {
    let room = {};
    let etag = null;
    if (id !== null) {
      try {
        const read = await api('GET', '/v1/rooms/' + part(id));
        room = read.data;
        etag = read.etag;
      } catch (e) {
        if (!e.signedOut) say('Reading the room failed: ' + e.message, 'error');
        return;
      }
    }
    const field = (name, label, input) => el('div', {class: 'field'}, el('label', {for: name, text: label}), input);
    const text = (name, value, attrs) => el('input', Object.assign({id: name, name, type: 'text', value: value === undefined ? '' : value}, attrs));
    const form = el('form', {class: 'card editor', id: 'room-editor'},
      el('h1', {text: id === null ? 'New room' : 'Edit ' + id}),
      id === null ? field('user', 'Number callers dial (A-Z a-z 0-9 . _ -)', text('user', '', {required: true, pattern: '[A-Za-z0-9._\\-]{1,64}'})) : null,
      field('name', 'Name', text('name', room.name)),
      field('maxParticipants', 'Most participants (0: no limit)', text('maxParticipants', room.maxParticipants === undefined ? 0 : room.maxParticipants, {type: 'number', min: 0})),
      field('language', 'Prompts\' language', text('language', room.language || 'en')),
      el('fieldset', {}, el('legend', {text: 'Rules'}),
        ...kFlags.map(([name, label]) => el('label', {class: 'check'},
          el('input', {type: 'checkbox', id: name, name, checked: room[name] === true}), ' ' + label))),
      el('fieldset', {}, el('legend', {text: 'PINs (digits; blank keeps the PIN as it is)'}),
        ...kPins.map(([name, has, label]) => el('div', {class: 'field'},
          el('label', {for: name, text: label + (room.pins && room.pins[has] ? ' (set)' : ' (none)')}),
          el('input', {id: name, name, type: 'text', inputmode: 'numeric', pattern: '[0-9]{4,16}', autocomplete: 'off'}),
          room.pins && room.pins[has] ? el('label', {class: 'check'},
            el('input', {type: 'checkbox', id: name + '-remove'}), ' remove') : null))),
      el('div', {class: 'controls'},
        el('button', {type: 'submit', text: id === null ? 'Create room' : 'Save'}),
        el('a', {class: 'button quiet', href: id === null ? '#/' : '#/rooms/' + part(id), text: 'Cancel'}),
        id === null ? null : el('button', {type: 'button', class: 'danger', 'data-action': 'delete-room', text: 'Delete room',
          onclick: () => {
            if (!confirm('Delete room ' + id + ' and its settings?')) return;
            act('Deleting', async () => {
              await api('DELETE', '/v1/rooms/' + part(id));
              say('Deleted ' + id);
              location.hash = '#/';
            });
          }})));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = (name) => form.elements[name].value.trim();
      const body = {name: value('name'), language: value('language'),
        maxParticipants: Number(value('maxParticipants') || 0)};
      for (const [name] of kFlags) body[name] = form.elements[name].checked;
      for (const [name] of kPins) {
        const remove = document.getElementById(name + '-remove');
        if (remove && remove.checked) body[name] = null;
        else if (value(name)) body[name] = value(name);
      }
      act('Saving', async () => {
        if (id === null) {
          body.user = value('user');
          const {data} = await api('POST', '/v1/rooms', body);
          say('Created ' + data.id);
          location.hash = '#/rooms/' + part(data.id);
        } else {
          // If-Match: a change someone else made since this page read the room is not overwritten.
          await api('PATCH', '/v1/rooms/' + part(id), body, etag ? {'If-Match': etag} : {});
          say('Saved');
          location.hash = '#/rooms/' + part(id);
        }
      });
    });
    show(form);
    view = {kind: 'editor'};
  }

  // ---- Routing -------------------------------------------------------------------------------

  function route() {
    if (view && view.leave) view.leave();
    view = null;
    if (!key()) {
      showSignIn();
      return;
    }
    signOutButton.hidden = false;
    connectEvents();
    const hash = location.hash.replace(/^#/, '') || '/';
    let m;
    if ((m = hash.match(/^\/rooms\/([^/]+)\/edit$/))) {
      showEditor(decodeURIComponent(m[1]));
    } else if ((m = hash.match(/^\/rooms\/([^/]+)$/))) {
      showRoom(decodeURIComponent(m[1]));
    } else if (hash === '/new') {
      showEditor(null);
    } else {
      showRooms();
    }
  }

  signOutButton.addEventListener('click', () => signOut());
  window.addEventListener('hashchange', route);
  route();
})();
