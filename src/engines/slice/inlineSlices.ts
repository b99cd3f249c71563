import { inputError } from '../../errors.js';
import { openSource } from '../../io/source.js';
import type { PrepPlan, PrepSlice } from '../../prep/plan.js';

/**
 * gzip has no random access: a driver that can move bytes to its workers (Ray) decompresses each gzip input
 * once, in order, and ships every slice's part inline instead of letting each worker decompress the file from
 * its start (docs/distributed-prep.md). Inputs are local paths or s3:// objects (streamed with ranged GETs).
 */
export async function* inlineSlices(plan: PrepPlan): AsyncGenerator<{ slice: number; mate: 'r1' | 'r2'; bytes: Uint8Array }> {
  for (const mate of ['r1', 'r2'] as const) {
    const byFile = new Map<string, PrepSlice[]>();
    for (const s of plan.slices) {
      const r = s[mate];
      if (r?.compression !== 'gzip') continue;
      const list = byFile.get(r.uri) ?? [];
      list.push(s);
      byFile.set(r.uri, list);
    }
    for (const [uri, slices] of byFile) {
      slices.sort((a, b) => a[mate]!.start - b[mate]!.start);
      const src = await openSource(uri);
      let pos = 0; // decompressed bytes before the current chunk
      let i = 0;
      let parts: Uint8Array[] = [];
      let have = 0;
      for await (const c of src.chunks()) {
        let off = 0;
        while (off < c.length && i < slices.length) {
          const r = slices[i]![mate]!;
          const at = pos + off;
          if (at < r.start) {
            off += Math.min(c.length - off, r.start - at);
            continue;
          }
          const take = Math.min(c.length - off, r.end - at);
          parts.push(c.slice(off, off + take));
          have += take;
          off += take;
          if (at + take === r.end) {
            const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
            yield { slice: slices[i]!.index, mate, bytes };
            parts = [];
            have = 0;
            i++;
          }
        }
        pos += c.length;
        if (i === slices.length) break;
      }
      if (i < slices.length) throw inputError(`${slices[i]![mate]!.label}: decompressed stream ends at byte ${pos}, expected at least ${slices[i]![mate]!.end} (changed since planning?)`);
    }
  }
}
