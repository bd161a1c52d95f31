'use strict';
// The case's signaling relay (docs/relay.md), as every Node adapter joins it: one WebSocket to
// `config.signaling_url`, each text message one JSON signaling message of the other peer
// ({desc}, {candidate}, {error}), and each message this peer sends one JSON text. Shared so that
// the connect error ("cannot reach the relay at ...", the `fail` of `setup`) and the rules for
// sending (only on an open socket) are the same in every adapter.

const WebSocket = require('ws');

const OPEN = WebSocket.OPEN;

/**
 * Opens the relay socket. Returns {ws, opened}: the socket at once (so that a case released while
 * it connects can terminate it) and a promise that resolves when it is open, or rejects with
 * "cannot reach the relay at URL: why" when it fails before.
 * handlers: onMessage(msg) for each JSON message; onBadMessage(e) when one does not parse (absent:
 * the exception is thrown, out of the socket's handler); onError(e) for a socket error once open
 * (absent: ignored); onClose() when the socket closes; binary: also take binary messages as JSON
 * (otherwise they are ignored).
 */
function openRelay(url, handlers) {
  const ws = new WebSocket(url);
  const opened = new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', (e) => {
      if (ws.readyState !== OPEN) reject(new Error(`cannot reach the relay at ${url}: ${String((e && (e.message || e.name)) || e)}`));
      else if (handlers.onError) handlers.onError(e);
    });
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary && !handlers.binary) return;
    let msg;
    try {
      msg = JSON.parse(isBinary ? data : data.toString('utf8'));
    } catch (e) {
      if (!handlers.onBadMessage) throw e;
      handlers.onBadMessage(e);
      return;
    }
    handlers.onMessage(msg);
  });
  if (handlers.onClose) ws.on('close', handlers.onClose);
  return { ws, opened };
}

/** Sends one signaling message, if the socket is open (a closed relay takes nothing more). */
function relaySend(ws, obj) {
  if (ws && ws.readyState === OPEN) ws.send(JSON.stringify(obj));
}

/**
 * A relay socket stand-in for the floor: what is sent on it is handed, parsed (as if it had been
 * through the wire), to `deliver(msg)`.
 */
function memorySocket(deliver) {
  return {
    readyState: OPEN,
    send: (text) => deliver(JSON.parse(text)),
    close() {},
    terminate() {},
  };
}

module.exports = { OPEN, CLOSED: WebSocket.CLOSED, CONNECTING: WebSocket.CONNECTING, openRelay, relaySend, memorySocket };
