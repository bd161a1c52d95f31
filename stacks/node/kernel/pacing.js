'use strict';
// Real-time pacing of fixture media: a sender writes a frame or packet, says how long it lasts,
// and the next one is due that much later on the clock, however late this tick ran (no drift:
// the due times are the sum of the durations from the start). Shared by the adapters that send
// fixture files themselves (werift, libdatachannel).

/**
 * Calls `tick()` now (`startNow`) or on the next turn of the event loop, then again after the
 * milliseconds each call returns, counted from the start. `schedule(fn, ms)` is setTimeout or a
 * wrapper of it (its handle is cleared with clearTimeout). Returns stop().
 */
function pace(tick, { startNow = false, schedule = setTimeout } = {}) {
  let next = performance.now();
  let timer = null;
  let stopped = false;
  const run = () => {
    if (stopped) return;
    // Node's timers count whole milliseconds and can fire a fraction of one before the due time on
    // performance.now()'s clock: a tick never runs before it is due.
    const early = next - performance.now();
    if (early > 0) {
      timer = schedule(run, early);
      return;
    }
    next += tick();
    if (stopped) return;
    timer = schedule(run, Math.max(0, next - performance.now()));
  };
  if (startNow) run();
  else timer = schedule(run, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

module.exports = { pace };
