'use strict';
// The protocol's `stats` summary (PROTOCOL.md, "stats.summary") from a W3C RTCStatsReport, for
// the Node stacks whose getStats speaks webrtc-stats: inbound-rtp and outbound-rtp entries with
// the fields the stack gives (a field it leaves out, or null, is left out), each with the
// mimeType of the codec its codecId names, and the selected candidate pair as
// `candidateType/protocol` (lower case) with the pair's own fields. Which fields a stack has is
// the adapter's to say.

/** The fields of `r` named in `keys` that have a value. */
function pick(r, keys) {
  const out = {};
  for (const k of keys) if (r[k] !== undefined && r[k] !== null) out[k] = r[k];
  return out;
}

/**
 * The summary of `report` (anything with forEach over stats objects).
 * - `inboundKeys(r)`: the fields of an inbound-rtp entry (by its kind, say);
 * - `outboundKeys`: the fields of an outbound-rtp entry;
 * - `pairKeys`: the selected pair's fields (currentRoundTripTime, ...).
 * The selected pair is the one a transport entry names (selectedCandidatePairId), else the first
 * succeeded, nominated candidate-pair (webrtc-stats: what a stack without transport stats has).
 */
function w3cSummary(report, { inboundKeys, outboundKeys = ['kind', 'packetsSent', 'bytesSent'], pairKeys }) {
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  const withCodec = (r, entry) => {
    const c = r.codecId && byId.get(r.codecId);
    if (c && c.mimeType) entry.codec = c.mimeType;
    return entry;
  };
  const summary = { inbound_rtp: [], outbound_rtp: [], candidate_pair: null };
  let selected = null;
  let nominated = null;
  report.forEach((r) => {
    if (r.type === 'inbound-rtp') summary.inbound_rtp.push(withCodec(r, pick(r, inboundKeys(r))));
    else if (r.type === 'outbound-rtp') summary.outbound_rtp.push(withCodec(r, pick(r, outboundKeys)));
    else if (r.type === 'transport' && r.selectedCandidatePairId && !selected) selected = byId.get(r.selectedCandidatePairId) || null;
    else if (r.type === 'candidate-pair' && r.state === 'succeeded' && r.nominated && !nominated) nominated = r;
  });
  const pair = selected || nominated;
  if (pair) {
    const side = (id) => {
      const c = byId.get(id);
      return c ? `${c.candidateType}/${String(c.protocol).toLowerCase()}` : undefined;
    };
    summary.candidate_pair = { local: side(pair.localCandidateId), remote: side(pair.remoteCandidateId), ...pick(pair, pairKeys) };
  }
  return summary;
}

// The repair counters of webrtc-stats (RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats): what a
// receiver that stops decoding asked its sender for (NACK, PLI, FIR), and what it got (key frames,
// retransmissions, FEC). A stack that lacks one leaves it out (`pick`).
const REPAIR_IN = ['nackCount', 'pliCount', 'firCount', 'keyFramesDecoded', 'retransmittedPacketsReceived', 'fecPacketsReceived', 'fecPacketsDiscarded'];
const REPAIR_OUT = ['nackCount', 'pliCount', 'firCount', 'keyFramesEncoded', 'retransmittedPacketsSent'];

module.exports = { pick, w3cSummary, REPAIR_IN, REPAIR_OUT };
