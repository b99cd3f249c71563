import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { MetavecError } from '../../errors.js';

/**
 * Framing of Arrow IPC messages on a byte stream (a worker's stdin/stdout, the merge step's stdin): an
 * 8-byte little-endian length, then one complete Arrow IPC stream. Self-delimiting frames let one pipe carry
 * many messages without relying on a reader stopping exactly at an IPC end-of-stream marker.
 */
export const FRAME_HEADER = 8;

export function frameHeader(length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  new DataView(h.buffer).setBigUint64(0, BigInt(length), true);
  return h;
}

export async function writeFrame(out: Writable, payload: Uint8Array): Promise<void> {
  out.write(frameHeader(payload.length));
  if (!out.write(payload)) await once(out, 'drain');
}

/** Splits a byte stream into frames; a stream that ends inside a frame is an error naming `what`. */
export async function* readFrames(input: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let have = 0;
  let need = -1; // payload length of the frame being read, -1 while reading a header
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = pending[0]!;
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) pending.shift();
      else pending[0] = head.subarray(k);
    }
    have -= n;
    return out;
  };
  for await (const chunk of input) {
    pending.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need < 0) {
        if (have < FRAME_HEADER) break;
        const h = take(FRAME_HEADER);
        const len = new DataView(h.buffer).getBigUint64(0, true);
        if (len > BigInt(Number.MAX_SAFE_INTEGER)) throw new MetavecError('INTERNAL', `${what}: bad frame length ${len}`);
        need = Number(len);
      }
      if (have < need) break;
      const payload = take(need);
      need = -1;
      yield payload;
    }
  }
  if (need >= 0 || have > 0) {
    pending = [];
    throw new MetavecError('INTERNAL', `${what}: stream ended inside a message`);
  }
}
