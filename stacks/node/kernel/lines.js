'use strict';
// The command-peer protocol's line plumbing, shared by the Node adapters (stacks/PROTOCOL.md,
// "Messages"): stdout carries protocol lines only, one JSON object per line; commands arrive as
// JSON lines on stdin. Each adapter had its own copy of these few functions; they live here once
// so that every Node adapter writes the same lines the same way. How an adapter schedules the
// commands it reads (in order, or some of them alongside the others) stays in the adapter: that
// follows what its stack can do while a command waits.

const readline = require('readline');

/** The protocol's `t`: wall-clock (epoch) milliseconds with sub-millisecond precision.
 * performance.now() gives the precision; the epoch base is read again from Date.now() whenever the
 * two disagree by more than REBASE_MS. performance.timeOrigin is taken once, at start, so a
 * long-lived adapter would carry every later step of the system clock (an NTP step, a resumed
 * virtual machine) into its stamps, while the harness reads the wall clock at each case's start:
 * seen in a full run, a reused libwebrtc adapter stamped its errors 8 s, then 51 s, before their
 * case began. Pacing uses performance.now() itself, which never steps. */
const REBASE_MS = 20;
let epochBase = performance.timeOrigin;
const now = () => {
  const mono = performance.now();
  const wall = Date.now();
  if (Math.abs(epochBase + mono - wall) > REBASE_MS) epochBase = wall - mono;
  return epochBase + mono;
};

/** One protocol line on stdout. */
const write = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** The text of a thrown value, as the `error` of a `done` line or an `error` event. */
const errorText = (e) => String((e && (e.message || e.name)) || e);

/** The first line of every program (PROTOCOL.md, "Start and hello"). */
function hello(stack, version) {
  write({ type: 'hello', protocol: 1, stack, version });
}

/** stdout is the protocol's alone: whatever a library logs through console goes to stderr. */
function keepStdoutForProtocol() {
  const toStderr = (...a) => console.error(...a);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}

/**
 * Reads the JSON lines of stdin: `onCommand(obj)` for each one, blank lines skipped, a line that
 * is not JSON logged with `log('not JSON:', line)` and skipped; `onEnd()` at EOF (the harness is
 * done with this program). Returns the readline interface.
 */
function readCommands(onCommand, { onEnd, log = console.error } = {}) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (e) {
      log('not JSON:', line);
      return;
    }
    onCommand(cmd);
  });
  if (onEnd) rl.on('close', onEnd);
  return rl;
}

module.exports = { now, write, errorText, hello, keepStdoutForProtocol, readCommands };
