'use strict';
// The floor (PROTOCOL.md, "Optional: the floor"): the stack's own time to first frame, two peer
// connections of the stack in this one process, nothing of the harness in the path. What is
// generic lives here: the loop over the iterations (each a fresh pair, run back to back), the
// `done` line that answers the `floor` request, and the in-memory hand-over of signaling between
// the two peers. The one iteration (`once`: build the pair, time createOffer to first frame,
// release it) is the stack's, in its adapter.

const { write, errorText } = require('./lines');

/** `n` iterations of `once(i)` (milliseconds each), one after the other. */
async function floorLoop(n, once) {
  const times = [];
  for (let i = 0; i < n; i++) times.push(await once(i));
  return times;
}

/**
 * Answers a `floor` request: `done` with `result` = await measure(cmd) (the adapter's
 * {floor: [...]}), or `done` with the error text (prefixed with `errorPrefix`).
 */
async function answerFloor(cmd, measure, { errorPrefix = '' } = {}) {
  try {
    write({ type: 'done', id: cmd.id, result: await measure(cmd) });
  } catch (e) {
    write({ type: 'done', id: cmd.id, error: `${errorPrefix}${errorText(e)}` });
  }
}

/**
 * A signaling message for the other peer of the pair, handed over as one from the relay would
 * be: a copy, as if it had been through JSON on the wire, given to `apply` (which queues it on
 * that peer's signaling chain, in order).
 */
function handOver(obj, apply) {
  apply(JSON.parse(JSON.stringify(obj)));
}

module.exports = { floorLoop, answerFloor, handOver };
