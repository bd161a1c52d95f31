'use strict';
// The adapters' own environment variables (toggles such as RTC_HARNESS_WERIFT_RESTART_CHECKS):
// read strictly, as the harness reads its own (src/runner/options.rs): a blank value is unset, any
// other value must be one of the documented ones, else it is an error that names the variable,
// never a silent default.

/**
 * The value of the variable `name` (trimmed): null when unset or blank, else one of `values`;
 * anything else throws an Error naming the variable and what it takes.
 */
function envChoice(name, values, env = process.env) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return null;
  const v = raw.trim();
  if (values.includes(v)) return v;
  const expected = values.map((x) => `'${x}'`).join(' or ');
  throw new Error(`${name}=${JSON.stringify(raw)}: expected ${expected}, or unset for the default`);
}

module.exports = { envChoice };
