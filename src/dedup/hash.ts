/**
 * 64-bit fingerprint of a fragment (both mates' final sequences), as two independent 32-bit hashes
 * (murmur3-style mixing). Used by the duplicate filter; collisions of both halves are ~2^-64 per pair.
 */
export function fragmentHash(
  s1: Uint8Array,
  a1: number,
  l1: number,
  s2: Uint8Array | undefined,
  a2: number,
  l2: number,
  out: Uint32Array,
  o: number,
): void {
  let h1 = 0x9747b28c ^ l1;
  let h2 = 0x85ebca6b ^ (l2 * 31);
  const mix = (b: number): void => {
    h1 = Math.imul(h1 ^ b, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 + b, 0x1b873593);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = Math.imul(h2, 5) + 0xe6546b64;
  };
  for (let i = 0; i < l1; i++) mix(s1[a1 + i]!);
  mix(0x7c);
  if (s2) for (let i = 0; i < l2; i++) mix(s2[a2 + i]!);
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x7feb352d);
  h2 ^= h2 >>> 15;
  out[o] = h1 >>> 0;
  out[o + 1] = h2 >>> 0;
}
