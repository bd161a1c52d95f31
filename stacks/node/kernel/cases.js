'use strict';
// The protocol's case commands (PROTOCOL.md, "Messages": setup, perform, collect_stats, floor,
// close), around the adapter's own case object. What every Node adapter answered the same way
// lives here: `setup` releases the previous case, builds the new one and answers `ready` or
// `fail`; `perform` and `collect_stats` answer `done` with their id (with the error's text when
// they throw); `close` releases the case and answers `closed`. How the commands are scheduled (in
// order, or a perform alongside the others) stays in the adapter, which calls `handle` as its
// stack needs.

const { write, errorText } = require('./lines');

/**
 * The commands of one program's cases.
 * - `open(config)`: a new case object (its `setup()` is awaited; `perform(action)` and
 *   `collectStats()` are called for the commands of the same names);
 * - `release(c)`: tears a case down (may return a promise);
 * - `floor(cmd)`: answers a `floor` request (see floor.js's `answerFloor`);
 * - `usable(c)`: whether the case can take a perform or a stats request (default: there is one);
 * - `answers(c)`: whether a `done` of this case is still wanted (default: always; an adapter that
 *   releases a case while its perform still runs says no for the released one);
 * - `log(...parts)`: stderr, for a line that is no command.
 */
function caseCommands({ open, release, floor, usable = (c) => !!c, answers = () => true, log = console.error }) {
  let current = null;

  async function done(cmd, run) {
    const c = current;
    try {
      if (!usable(c)) throw new Error('no case set up');
      await run(c);
      if (answers(c)) write({ type: 'done', id: cmd.id });
    } catch (e) {
      if (!c || answers(c)) write({ type: 'done', id: cmd.id, error: errorText(e) });
    }
  }

  async function handle(cmd) {
    switch (cmd.type) {
      case 'setup': {
        if (current) await release(current);
        const c = open(cmd.config || {});
        current = c;
        try {
          await c.setup();
          write({ type: 'ready' });
        } catch (e) {
          log('setup failed:', errorText(e));
          await Promise.resolve(release(c)).catch(() => {});
          if (current === c) current = null;
          write({ type: 'fail', message: errorText(e) });
        }
        return;
      }
      case 'perform':
        return done(cmd, (c) => c.perform(cmd.action || {}));
      case 'collect_stats':
        return done(cmd, (c) => c.collectStats());
      case 'floor':
        return floor(cmd);
      case 'close': {
        const c = takeCurrent();
        if (c) await release(c);
        write({ type: 'closed' });
        return;
      }
      default:
        log('unknown line', JSON.stringify(cmd));
    }
  }

  /** The case set up now, which is no longer the current one (a close, the end of stdin). */
  function takeCurrent() {
    const c = current;
    current = null;
    return c;
  }

  return { handle, takeCurrent };
}

module.exports = { caseCommands };
