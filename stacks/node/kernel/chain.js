'use strict';
// The signaling chain of a W3C peer connection adapter (libwebrtc's and werift's): signaling
// messages, our own offers and the actions that must not cut into them run one after the other,
// on one promise chain.

const { errorText } = require('./lines');

class Chain {
  /** `emit(type, fields)` writes the adapter's events (the `error` of a failed serial step). */
  constructor(emit) {
    this.emit = emit;
    this.tail = Promise.resolve();
  }

  /** Runs fn after everything queued before it; its failure is an `error` event of context `what`. */
  serial(what, fn) {
    this.tail = this.tail.then(fn).catch((e) => this.emit('error', { context: what, message: errorText(e) }));
    return this.tail;
  }

  /** Like serial, but the caller gets fn's outcome (errors included) instead of an error event. */
  chained(fn) {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

module.exports = { Chain };
