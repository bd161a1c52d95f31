'use strict';
// Data channel bookkeeping of a W3C peer connection adapter (libwebrtc's and werift's): the
// channels by label (for the actions), and per channel whether data_channel_open and
// data_channel_close were pushed, so that each is pushed once (PROTOCOL.md, "Events"). How a
// channel's events are received stays in the adapter: that is its binding's API.

const { isIntact } = require('./pattern');

/** The fields of a data_channels item that are W3C RTCDataChannelInit members. */
const INIT_FIELDS = ['ordered', 'maxRetransmits', 'maxPacketLifeTime', 'negotiated', 'id', 'protocol'];

/** The RTCDataChannelInit of a data_channels item: the fields it gives (absent = stack default). */
function channelInit(spec) {
  const init = {};
  for (const k of INIT_FIELDS) if (spec[k] !== undefined && spec[k] !== null) init[k] = spec[k];
  return init;
}

/**
 * The data_channel_open fields of an open channel, as the stack reports it on this side. A number
 * option that is not a stream id or count (negative, or the stack's `unset` value, such as
 * libwebrtc's 65535) is null: unset.
 */
function openFields(dc, unset) {
  const opt = (v) => (typeof v === 'number' && v >= 0 && v !== unset ? v : null);
  return {
    label: dc.label,
    id: opt(dc.id),
    protocol: dc.protocol,
    ordered: dc.ordered,
    maxRetransmits: opt(dc.maxRetransmits),
    maxPacketLifeTime: opt(dc.maxPacketLifeTime),
    negotiated: dc.negotiated,
  };
}

/** The data_channel_message fields of a received message: a string, or bytes (Buffer, Uint8Array, ArrayBuffer). */
function messageFields(label, data) {
  if (typeof data === 'string') return { label, data };
  const bytes = ArrayBuffer.isView(data) ? data : new Uint8Array(data);
  return { label, binary: true, size: bytes.length, intact: isIntact(bytes) };
}

class Channels {
  /** `emit(type, fields)` writes the adapter's events; `cfg` is the case's configuration. */
  constructor(emit, cfg) {
    this.emit = emit;
    this.cfg = cfg;
    this.byLabel = new Map();
    this.state = new Map();
  }

  /** The channel of a label (the last one added with it). */
  get(label) {
    return this.byLabel.get(label);
  }

  add(dc) {
    this.byLabel.set(dc.label, dc);
    this.state.set(dc, { opened: false, closed: false });
  }

  /** The channel is open: data_channel_open, the first time only (then true). */
  opened(dc, unset) {
    const st = this.state.get(dc);
    if (!st || st.opened) return false;
    st.opened = true;
    this.emit('data_channel_open', openFields(dc, unset));
    return true;
  }

  /** What to send on a channel once open: the `send` of its data_channels item when this side created it (`mine`). */
  greeting(dc, mine) {
    const spec = mine && (this.cfg.data_channels || []).find((c) => c.label === dc.label);
    return (spec && spec.send) || null;
  }

  /** A message arrived on dc: data_channel_message. */
  message(dc, data) {
    this.emit('data_channel_message', messageFields(dc.label, data));
  }

  /** The channel closed: data_channel_close, once per channel. */
  closed(dc) {
    const st = this.state.get(dc);
    if (st && st.closed) return;
    if (st) st.closed = true;
    this.emit('data_channel_close', { label: dc.label });
  }

  /** data_channel_close for every channel reported open and not closed yet (the peer closes). */
  closeAll() {
    for (const [dc, st] of this.state) if (st.opened && !st.closed) this.closed(dc);
  }

  clear() {
    this.byLabel.clear();
  }
}

module.exports = { Channels, channelInit, openFields, messageFields };
