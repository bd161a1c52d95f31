'use strict';
// The binary message of the protocol's size form (PROTOCOL.md, `send_message` with `size`): byte i
// is i % 251, so that the receiving side can tell a message that arrived whole and in order
// (`intact`) from one cut or mixed up. Written once for every Node adapter: the sender's bytes and
// the receiver's check must agree.

const MODULUS = 251;

function fill(bytes) {
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % MODULUS;
  return bytes;
}

/** The pattern as a Buffer (for stacks that take Node Buffers). */
const patternBuffer = (size) => fill(Buffer.allocUnsafe(size));

/**
 * The pattern as a plain Uint8Array of its own ArrayBuffer (for a binding that sends the whole
 * underlying ArrayBuffer: a small Buffer is a view into Node's shared pool).
 */
const patternBytes = (size) => fill(new Uint8Array(size));

/** Whether received bytes (Buffer, Uint8Array) are the pattern. */
function isIntact(bytes) {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== i % MODULUS) return false;
  return true;
}

module.exports = { patternBuffer, patternBytes, isIntact };
