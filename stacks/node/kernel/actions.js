'use strict';
// The protocol's actions (PROTOCOL.md, "Actions") on a peer connection with the W3C API, as
// libwebrtc's and werift's adapters both have it: one mapping, so that an action means the same
// in both. The adapter's case object keeps what differs between the stacks:
//   pc, cfg, channels (a channels.js Channels), chain (a chain.js Chain), started;
//   attachMedia(kinds), watchChannel(dc, ours), offer(), sendBinary(dc, size),
//   setDirection(kind, direction), removeTrack(kind), replaceTrack(kind), closePeer(); and
//   stallVideo(action) where it paints frame markers.
// `emit(type, fields)` writes the adapter's events.
// Also what both adapters do alike around the actions: a data channel of a data_channels item
// (createChannel), the answerer's start (startAnswerer) and the shape of codec_preferences
// (codecPreferences), so that the adapter keeps only its stack's mapping.

const { channelInit } = require('./channels');

const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** A data channel of a data_channels item, created by this side and watched as its own. */
function createChannel(peer, spec) {
  return peer.watchChannel(peer.pc.createDataChannel(spec.label, channelInit(spec)), true);
}

/**
 * The seed's answerer, when the first offer arrives before `start`: it attaches its media then
 * (and creates its negotiated data channels, which the other side does not announce).
 */
function startAnswerer(peer) {
  if (peer.started) return;
  peer.started = true;
  peer.attachMedia(peer.cfg.media || []);
  for (const c of peer.cfg.data_channels || []) if (c.negotiated === true) createChannel(peer, c);
}

/**
 * codec_preferences (PROTOCOL.md), checked at setup: an object of kind (audio, video) to a list of
 * codec names. Returns null when there is none (absent, or only empty lists), else, per kind with
 * names, what `resolve(kind, names)` makes of them: the stack's mapping, which throws an Error
 * naming a codec it cannot use.
 */
function codecPreferences(prefs, resolve) {
  if (prefs === undefined || prefs === null) return null;
  if (typeof prefs !== 'object') throw new Error('codec_preferences must be an object {video: [...], audio: [...]}');
  const out = {};
  for (const [kind, names] of Object.entries(prefs)) {
    if (kind !== 'audio' && kind !== 'video') throw new Error(`codec_preferences: unknown kind '${kind}'`);
    if (!Array.isArray(names)) throw new Error(`codec_preferences.${kind} must be a list of codec names`);
    if (names.length) out[kind] = resolve(kind, names);
  }
  return Object.keys(out).length ? out : null;
}

function channel(peer, label) {
  const dc = peer.channels.get(label);
  if (!dc) throw new Error(`no data channel '${label}'`);
  return dc;
}

async function perform(peer, a, emit) {
  switch (a.type) {
    case 'start':
      peer.started = true;
      peer.attachMedia(peer.cfg.media || []);
      for (const c of peer.cfg.data_channels || []) createChannel(peer, c);
      return;
    case 'add_track':
      return peer.attachMedia([a.kind]);
    case 'create_data_channel':
      return peer.watchChannel(peer.pc.createDataChannel(a.label), true);
    case 'send_offer':
      return peer.chain.serial('send_offer', () => peer.offer());
    case 'restart_ice':
      return peer.pc.restartIce();
    case 'send_message': {
      const dc = channel(peer, a.label);
      if (a.size === undefined || a.size === null) return dc.send(a.text);
      if (!Number.isInteger(a.size) || a.size < 0) throw new Error(`send_message: size ${JSON.stringify(a.size)} is not a byte count`);
      return peer.sendBinary(dc, a.size);
    }
    case 'close_channel':
      return channel(peer, a.label).close();
    case 'rollback':
      // On the signaling chain, so that it does not cut into an offer being made or applied.
      return peer.chain.chained(async () => {
        await peer.pc.setLocalDescription({ type: 'rollback' });
        emit('rollback', { implicit: false });
      });
    case 'set_direction':
      // W3C webrtc-pc 5.4: the direction setter takes an RTCRtpTransceiverDirection.
      if (!DIRECTIONS.includes(a.direction)) throw new Error(`TypeError: '${a.direction}' is not a valid RTCRtpTransceiverDirection`);
      return peer.setDirection(a.kind, a.direction);
    case 'remove_track':
      return peer.removeTrack(a.kind);
    case 'replace_track':
      return peer.replaceTrack(a.kind);
    case 'stall_video':
      if (!peer.stallVideo) throw new Error('stall_video: this adapter paints no frame marker');
      return peer.stallVideo(a);
    case 'close':
      return peer.closePeer();
    default:
      throw new Error(`unknown action ${JSON.stringify(a)}`);
  }
}

module.exports = { perform, DIRECTIONS, createChannel, startAnswerer, codecPreferences };
