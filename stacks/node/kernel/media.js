'use strict';
// Media the Node adapters send and receive as RTP themselves (werift, libdatachannel): the
// fixture readers (IVF for VP8, Ogg for Opus), the VP8 RTP payload format (RFC 7741) both ways,
// the size of a VP8 keyframe (RFC 6386) that `first_frame` reports, and the random RTP starting
// points. Generic codec and container code only: how a stack is fed or read stays in its adapter.

const fs = require('fs');
const { randomBytes } = require('crypto');

/** The largest VP8 payload per RTP packet (the descriptor comes on top): well under any MTU. */
const MAX_RTP_PAYLOAD = 1100;

/** A random RTP starting sequence number / timestamp / SSRC (RFC 3550 section 5.1). */
const rand16 = () => randomBytes(2).readUInt16BE(0);
const rand32 = () => randomBytes(4).readUInt32BE(0);

// ---------------------------------------------------------------------------------------------
// Fixtures

/**
 * IVF: a 32-byte file header (frame rate and time scale at 16 and 20), then per frame a 12-byte
 * header (size u32le, pts u64le) and the frame. A VP8 frame is a keyframe when bit 0 of its first
 * byte is 0 (RFC 6386 section 9.1). Returns {frames: [{data, pts, key}], rate, scale}.
 */
function loadIvf(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 32 || buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error(`${file}: not an IVF file`);
  const headerLen = buf.readUInt16LE(6) || 32;
  const rate = buf.readUInt32LE(16) || 30;
  const scale = buf.readUInt32LE(20) || 1;
  const frames = [];
  let off = headerLen;
  while (off + 12 <= buf.length) {
    const size = buf.readUInt32LE(off);
    const pts = Number(buf.readBigUInt64LE(off + 4));
    off += 12;
    if (off + size > buf.length) break;
    const data = buf.subarray(off, off + size);
    frames.push({ data, pts, key: (data[0] & 0x01) === 0 });
    off += size;
  }
  if (!frames.length) throw new Error(`${file}: no frames`);
  return { frames, rate, scale };
}

/**
 * Ogg pages (RFC 3533): packets reassembled from page segments (a lacing value of 255 continues
 * the packet, also into the next page). Returns [{granule, packets}], each packet on the page
 * where it ends. For Ogg Opus (RFC 7845) the first two packets (OpusHead, OpusTags) are headers.
 */
function loadOgg(file) {
  const buf = fs.readFileSync(file);
  const pages = [];
  let partial = [];
  let off = 0;
  while (off + 27 <= buf.length) {
    if (buf.toString('ascii', off, off + 4) !== 'OggS') throw new Error(`${file}: bad Ogg page at ${off}`);
    const granule = Number(buf.readBigUInt64LE(off + 6));
    const nseg = buf[off + 26];
    const lacing = buf.subarray(off + 27, off + 27 + nseg);
    let data = off + 27 + nseg;
    const packets = [];
    for (const len of lacing) {
      partial.push(buf.subarray(data, data + len));
      data += len;
      if (len < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    pages.push({ granule, packets });
    off = data;
  }
  return pages;
}

/** Whether an Ogg packet is one of Ogg Opus's header packets (RFC 7845 section 5). */
function isOpusHeader(p) {
  const magic = p.toString('ascii', 0, 8);
  return magic === 'OpusHead' || magic === 'OpusTags';
}

/** Samples (48 kHz) in one Opus packet, from its TOC byte (RFC 6716 section 3.1). */
function opusSamples(p) {
  const config = p[0] >> 3;
  let frameUs;
  if (config < 12) frameUs = [10000, 20000, 40000, 60000][config % 4];
  else if (config < 16) frameUs = [10000, 20000][config % 2];
  else frameUs = [2500, 5000, 10000, 20000][config % 4];
  const code = p[0] & 0x03;
  const frames = code === 0 ? 1 : code === 3 ? (p[1] & 0x3f) : 2;
  return Math.round((frameUs * frames * 48) / 1000);
}

/** `load(kind, file)` read once per kind and file for the life of the process. */
function cachedLoader(load) {
  const cache = new Map();
  return (kind, file) => {
    const key = `${kind}:${file}`;
    if (!cache.has(key)) cache.set(key, load(kind, file));
    return cache.get(key);
  };
}

// ---------------------------------------------------------------------------------------------
// VP8 over RTP (RFC 7741)

/**
 * One VP8 frame as RTP payloads: [{descriptor, chunk, marker}], chunks of MAX_RTP_PAYLOAD bytes.
 * The descriptor (RFC 7741 section 4.2) is one byte: X=0, N=0, S=1 on the frame's first packet,
 * PID=0; the marker is set on the frame's last packet (section 4.1).
 */
function vp8Packets(frame) {
  const out = [];
  for (let off = 0; off < frame.length; off += MAX_RTP_PAYLOAD) {
    out.push({
      descriptor: Buffer.from([off === 0 ? 0x10 : 0x00]),
      chunk: frame.subarray(off, Math.min(off + MAX_RTP_PAYLOAD, frame.length)),
      marker: off + MAX_RTP_PAYLOAD >= frame.length,
    });
  }
  return out;
}

/**
 * The VP8 payload descriptor (RFC 7741 section 4.2): returns {start, offset}, or null when the
 * payload is too short for it. `start`: the packet starts partition 0 of a frame, S=1 and PID=0.
 * The first octet is |X|R|N|S|R|PID|: PID is its low 3 bits, and the R bit above it (0x08) is
 * reserved, "MUST be ignored by receivers", so it is not part of the PID test (the 4-bit PartID
 * of the pre-RFC drafts is gone). `offset`: where the VP8 payload begins.
 */
function vp8Descriptor(p) {
  if (p.length < 1) return null;
  const x = p[0] & 0x80;
  const start = (p[0] & 0x10) !== 0 && (p[0] & 0x07) === 0;
  let off = 1;
  if (x) {
    if (p.length < 2) return null;
    const flags = p[1];
    off = 2;
    if (flags & 0x80) off += p.length > off && (p[off] & 0x80) ? 2 : 1; // I: PictureID, M: 15 bits
    if (flags & 0x40) off += 1; // L: TL0PICIDX
    if (flags & 0x30) off += 1; // T or K: TID/Y/KEYIDX
  }
  if (off > p.length) return null;
  return { start, offset: off };
}

/**
 * Width and height of a VP8 keyframe: a 3-byte frame tag with bit 0 clear, the start code
 * 9d 01 2a, then two little-endian 14-bit dimensions (RFC 6386 section 9.1); null for anything else.
 */
function keyframeSize(frame) {
  if (frame.length < 10 || (frame[0] & 0x01) !== 0) return null;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return null;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}

module.exports = {
  MAX_RTP_PAYLOAD,
  rand16,
  rand32,
  loadIvf,
  loadOgg,
  isOpusHeader,
  opusSamples,
  cachedLoader,
  vp8Packets,
  vp8Descriptor,
  keyframeSize,
};
