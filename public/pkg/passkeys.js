// Passkeys in the browser (WebAuthn): registering one on the account page,
// and signing a decision on a gate that takes signed decisions. A form
// with an `input[data-sign]` is held back on submit until the person's
// passkey has signed the challenge the console hands out for exactly that
// decision; the assertion goes in that input and the form is sent as usual.
const b64u = {
  enc: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  dec: (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)),
};

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
  return json;
}

function say(form, text, ok) {
  let p = form.parentElement.querySelector(':scope > .passkey-status');
  if (!p) {
    p = document.createElement('p');
    p.className = 'passkey-status';
    p.setAttribute('role', 'status');
    form.insertAdjacentElement('afterend', p);
  }
  p.className = `passkey-status ${ok ? 'ok' : 'error'}`;
  p.textContent = text;
}

async function sign(form, input, submitter) {
  const fields = new FormData(form);
  const options = await call('POST', `/api/v1/plans/${fields.get('plan_id')}/sign`, {
    phase_id: fields.get('phase_id'),
    verdict: fields.get('verdict'),
    evidence: fields.get('evidence'),
  });
  const pk = options.publicKey;
  const credential = await navigator.credentials.get({
    publicKey: {
      ...pk,
      challenge: b64u.dec(pk.challenge),
      allowCredentials: pk.allowCredentials.map((c) => ({ type: c.type, id: b64u.dec(c.id) })),
    },
  });
  input.value = JSON.stringify({
    nonce: options.nonce,
    credential_id: b64u.enc(credential.rawId),
    authenticator_data: b64u.enc(credential.response.authenticatorData),
    client_data_json: b64u.enc(credential.response.clientDataJSON),
    signature: b64u.enc(credential.response.signature),
  });
  form.dataset.signed = 'ready';
  form.requestSubmit(submitter ?? undefined);
}

async function register(form) {
  const name = new FormData(form).get('name');
  const options = await call('POST', '/api/v1/me/passkeys/options', {});
  const pk = options.publicKey;
  const credential = await navigator.credentials.create({
    publicKey: {
      ...pk,
      challenge: b64u.dec(pk.challenge),
      user: { ...pk.user, id: b64u.dec(pk.user.id) },
      excludeCredentials: pk.excludeCredentials.map((c) => ({ type: c.type, id: b64u.dec(c.id) })),
    },
  });
  await call('POST', '/api/v1/me/passkeys', {
    nonce: options.nonce,
    name,
    client_data_json: b64u.enc(credential.response.clientDataJSON),
    attestation_object: b64u.enc(credential.response.attestationObject),
  });
  location.reload();
}

// Capture: before the page's own handler sends the form.
document.addEventListener('submit', (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement)) return;
  const input = form.querySelector('input[data-sign]');
  if (input && form.dataset.signed !== 'ready') {
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (!window.PublicKeyCredential) {
      say(form, 'This browser cannot use passkeys; decide from one that can.', false);
      return;
    }
    say(form, 'Waiting for your passkey…', true);
    sign(form, input, ev.submitter).catch((e) => say(form, `Not signed: ${e.message}`, false));
    return;
  }
  if (input) {
    // Sent once with this signature; another attempt signs again.
    delete form.dataset.signed;
    setTimeout(() => { input.value = ''; }, 0);
  }
  if (form.id === 'add-passkey') {
    ev.preventDefault();
    ev.stopImmediatePropagation();
    say(form, 'Follow your browser to create the passkey…', true);
    register(form).catch((e) => say(form, `No passkey added: ${e.message}`, false));
  }
  if (form.classList.contains('remove-passkey')) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const id = new FormData(form).get('credential_id');
    call('DELETE', `/api/v1/me/passkeys/${encodeURIComponent(id)}`)
      .then(() => location.reload())
      .catch((e) => say(form, e.message, false));
  }
}, true);
