// Shiftgate console: passkey ceremonies and live updates. No inline
// script anywhere (the Content-Security-Policy forbids it); this file is
// the console's only script.
(function () {
  'use strict';

  function enc(buf) {
    const bytes = new Uint8Array(buf);
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function dec(str) {
    const b64 = str.replace(/-/g, '+').replace(/_/g, '/');
    const pad = b64.length % 4 ? '='.repeat(4 - (b64.length % 4)) : '';
    const bin = atob(b64 + pad);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  // The page's CSRF token goes with every call: the hub takes a sign-in or
  // registration without it only from a browser that says where the call
  // comes from (Origin, Sec-Fetch-Site), which older browsers do not.
  async function postJSON(url, body) {
    const headers = { 'Content-Type': 'application/json', 'Accept': 'application/json' };
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) headers['X-CSRF-Token'] = meta.content;
    const r = await fetch(url, {
      method: 'POST', credentials: 'same-origin', headers: headers,
      body: JSON.stringify(body),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (!r.ok) throw new Error(j.error || ('the hub answered ' + r.status));
    return j;
  }

  function status(state, text) {
    const s = document.getElementById('status');
    if (!s) return;
    s.dataset.state = state;
    s.textContent = text;
  }

  // go-webauthn sends {publicKey: {...}} with base64url strings where the
  // browser API wants ArrayBuffers, and back again for the answer.
  function creationOptions(o) {
    const pk = o.publicKey;
    pk.challenge = dec(pk.challenge);
    pk.user.id = dec(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return pk;
  }
  function requestOptions(o) {
    const pk = o.publicKey;
    pk.challenge = dec(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return pk;
  }
  function credentialJSON(c) {
    const r = c.response;
    const out = {
      id: c.id, rawId: enc(c.rawId), type: c.type,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: enc(r.clientDataJSON) },
    };
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = enc(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = enc(r.authenticatorData);
      out.response.signature = enc(r.signature);
      if (r.userHandle) out.response.userHandle = enc(r.userHandle);
    }
    return out;
  }

  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    status('error', 'This browser cannot use passkeys. Use a current browser over HTTPS.');
    return false;
  }

  function setupSignin() {
    const form = document.getElementById('signin-form');
    if (!form) return;
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      if (!supported()) return;
      status('working', 'Waiting for your passkey…');
      try {
        const begin = await postJSON('/console/auth/login/begin', {});
        const cred = await navigator.credentials.get({ publicKey: requestOptions(begin.options) });
        const fin = await postJSON('/console/auth/login/finish', { ceremony: begin.ceremony, credential: credentialJSON(cred) });
        status('done', 'Signed in.');
        const next = form.dataset.next;
        window.location.assign(next && next.indexOf('/console/') === 0 ? next : fin.next);
      } catch (err) {
        status('error', 'Sign-in failed: ' + err.message);
      }
    });
  }

  // inviteKey holds, in sessionStorage, the invitation token of the
  // registration page open in this tab.
  const inviteKey = 'shiftgate-invite';

  // store runs fn on sessionStorage; where the browser refuses storage
  // (some private modes throw), it returns null and the page works as
  // without it, only not across a reload.
  function store(fn) {
    try { return fn(window.sessionStorage); } catch (e) { return null; }
  }

  function setupRegister() {
    const form = document.getElementById('register-form');
    if (!form) return;
    // The invitation token is in the fragment, which never reaches a
    // server; drop it from the address bar and history at once. The tab
    // keeps it in sessionStorage (which stays with this tab and goes when
    // it closes), because the hub's errors tell the person to reload
    // the page (an older browser's refused call, errUnmarked): the reload
    // must find the token again, or it says the invitation is missing.
    let token = window.location.hash.slice(1);
    if (token) store(function (s) { s.setItem(inviteKey, token); });
    else token = store(function (s) { return s.getItem(inviteKey); }) || '';
    if (window.location.hash) history.replaceState(null, '', window.location.pathname);
    if (!token) {
      status('error', 'Open this page from the invitation link you were sent.');
      return;
    }
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      if (!supported()) return;
      status('working', 'Creating your passkey…');
      try {
        const begin = await postJSON('/console/auth/register/begin', { token: token });
        const cred = await navigator.credentials.create({ publicKey: creationOptions(begin.options) });
        const fin = await postJSON('/console/auth/register/finish', { token: token, ceremony: begin.ceremony, credential: credentialJSON(cred) });
        status('done', 'Passkey registered for ' + begin.account + '.');
        // The invitation is used up: a later visit to this page in the
        // tab must not offer it again.
        store(function (s) { s.removeItem(inviteKey); });
        window.location.assign(fin.next);
      } catch (err) {
        status('error', 'Registration failed: ' + err.message);
      }
    });
  }

  // Live sessions: the hub's event stream says when they change; the block
  // is then fetched again as server-rendered HTML and swapped in.
  function setupLive() {
    document.querySelectorAll('[data-live][data-events]').forEach(function (section) {
      let updates = 0;
      const es = new EventSource(section.dataset.events);
      es.addEventListener('sessions', async function () {
        try {
          const r = await fetch(section.dataset.live, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } });
          if (!r.ok) return;
          const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
          const fresh = doc.getElementById('live-block');
          const old = section.querySelector('#live-block');
          if (fresh && old) {
            old.replaceWith(document.importNode(fresh, true));
            const count = document.getElementById('live-sessions');
            if (count) count.textContent = fresh.dataset.sessions;
          }
          updates++;
          document.body.dataset.liveUpdates = String(updates);
        } catch (e) { /* the next event retries */ }
      });
      const stop = function (message) {
        es.close();
        const p = document.createElement('p');
        p.className = 'notice error';
        p.setAttribute('role', 'alert');
        p.textContent = message;
        section.prepend(p);
      };
      es.addEventListener('signedout', function () {
        stop('Your console session ended. Sign in again to see live updates.');
      });
      // The hub keeps a few live streams per account and ends the oldest
      // when another page opens one.
      es.addEventListener('superseded', function () {
        stop('Live updates stopped on this page because newer console pages are showing them. Reload this page to resume them here.');
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    setupSignin();
    setupRegister();
    setupLive();
  });
})();
