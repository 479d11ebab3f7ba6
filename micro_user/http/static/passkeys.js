// Passkeys on the hosted pages: the one script they load. A form with data-passkey-create
// or data-passkey-get holds the server's WebAuthn options (JSON); sending the form asks the
// browser for a passkey, puts its answer (JSON, base64url fields) in the form's "credential"
// field, and sends it on. Without this script the form is sent without an answer and the
// server says that passkeys need JavaScript.
"use strict";

(function () {
  function bytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function text(buffer) {
    let raw = "";
    for (const b of new Uint8Array(buffer)) raw += String.fromCharCode(b);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((d) => Object.assign({}, d, { id: bytes(d.id) }));
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: bytes(json.challenge),
      user: Object.assign({}, json.user, { id: bytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: bytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function answer(credential) {
    const r = credential.response;
    const response = { clientDataJSON: text(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = text(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      if (r.userHandle) response.userHandle = text(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    });
  }

  function say(form, message) {
    let status = form.querySelector(".passkey-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "error passkey-status";
      status.setAttribute("role", "alert");
      form.prepend(status);
    }
    status.textContent = message;
  }

  for (const form of document.querySelectorAll("form[data-passkey-create], form[data-passkey-get]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!window.PublicKeyCredential) {
        say(form, "This browser cannot use passkeys.");
        return;
      }
      try {
        const credential = form.dataset.passkeyCreate
          ? await navigator.credentials.create({ publicKey: creationOptions(JSON.parse(form.dataset.passkeyCreate)) })
          : await navigator.credentials.get({ publicKey: requestOptions(JSON.parse(form.dataset.passkeyGet)) });
        form.elements.credential.value = answer(credential);
        form.submit();
      } catch (error) {
        say(form, error && error.name === "NotAllowedError"
          ? "No passkey was chosen. Try again, or use another way."
          : "The passkey did not work: " + (error && error.message ? error.message : error));
      }
    });
  }
})();
