'use strict';
// The protocol's actions (PROTOCOL.md, "Actions") on a peer connection with the W3C API, as
// libwebrtc's and werift's adapters both have it: one mapping, so that an action means the same
// in both. The adapter's case object keeps what differs between the stacks:
//   pc, cfg, channels (Map of label to RTCDataChannel), started;
//   attachMedia(kinds), createChannel(spec), watchChannel(dc, ours), serial(what, fn), offer(),
//   chained(fn), sendBinary(dc, size), setDirection(kind, direction), removeTrack(kind),
//   replaceTrack(kind), closePeer(); and stallVideo(action) where it paints frame markers.
// `emit(type, fields)` writes the adapter's events.

const DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

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
      for (const c of peer.cfg.data_channels || []) peer.createChannel(c);
      return;
    case 'add_track':
      return peer.attachMedia([a.kind]);
    case 'create_data_channel':
      return peer.watchChannel(peer.pc.createDataChannel(a.label), true);
    case 'send_offer':
      return peer.serial('send_offer', () => peer.offer());
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
      return peer.chained(async () => {
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

module.exports = { perform, DIRECTIONS };
