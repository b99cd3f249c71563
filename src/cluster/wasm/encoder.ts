/**
 * A minimal WebAssembly binary encoder: LEB128 integers, sections, a function-body builder with structured
 * control helpers, the opcodes the k-means kernels use, and the module layout (one imported shared memory,
 * exported functions). Knows nothing about k-means (the kernels are in emitters.ts).
 */

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export function str(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

/** Function body builder: value-stack code with structured-control helpers. */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: number[] = [];

  constructor(readonly name: string, readonly nParams: number) {}

  local(type: number): number {
    this.localTypes.push(type);
    return this.nParams + this.localTypes.length - 1;
  }

  get(i: number): this { this.code.push(0x20, ...uleb(i)); return this; }
  set(i: number): this { this.code.push(0x21, ...uleb(i)); return this; }
  i32(v: number): this { this.code.push(0x41, ...sleb(v | 0)); return this; }
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    this.code.push(0x44, ...b);
    return this;
  }
  op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  /** SIMD instruction (0xfd prefix) with optional immediates. */
  simd(opcode: number, ...imm: number[]): this { this.code.push(0xfd, ...uleb(opcode), ...imm); return this; }
  mem(opcode: number, align: number, offset = 0): this { this.code.push(opcode, align, ...uleb(offset)); return this; }
  simdMem(opcode: number, align: number, offset = 0): this { return this.simd(opcode, align, ...uleb(offset)); }

  /** local[i] += v (i32). */
  inc(i: number, v: number): this { return this.get(i).i32(v).op(OP.i32add).set(i); }
  /** local[i] += local[j] (i32). */
  incBy(i: number, j: number): this { return this.get(i).get(j).op(OP.i32add).set(i); }

  /** while (cond) body */
  while(cond: () => void, body: () => void): this {
    this.code.push(0x02, 0x40, 0x03, 0x40);
    cond();
    this.code.push(0x45, 0x0d, 1); // i32.eqz; br_if 1 (exit)
    body();
    this.code.push(0x0c, 0, 0x0b, 0x0b); // br 0; end loop; end block
    return this;
  }

  /** if (cond) then */
  if(cond: () => void, then: () => void): this {
    cond();
    this.code.push(0x04, 0x40);
    then();
    this.code.push(0x0b);
    return this;
  }

  body(): number[] {
    const groups: number[][] = this.localTypes.map((t) => [1, t]);
    const b = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }
}

export const OP = {
  i32load: 0x28, f32load: 0x2a, f64load: 0x2b, i32store: 0x36, f64store: 0x39,
  i32add: 0x6a, i32sub: 0x6b, i32mul: 0x6c, i32ltS: 0x48, i32ltU: 0x49, i32leS: 0x4c,
  f64lt: 0x63, f64gt: 0x64, f64add: 0xa0, f64sub: 0xa1, f64mul: 0xa2, f64promote: 0xbb, select: 0x1b,
} as const;
export const SIMD = {
  load: 0x00, store: 0x0b, const: 0x0c, f64x2splat: 0x14, f64x2extract: 0x21, load64zero: 0x5d,
  f64x2promoteLow: 0x5f, f64x2add: 0xf0, f64x2mul: 0xf2,
} as const;

export function v128zero(f: Fn): Fn {
  return f.simd(SIMD.const, ...new Array<number>(16).fill(0));
}

/** WebAssembly page size (bytes) and the most pages a wasm32 memory can have (4 GiB). */
export const PAGE = 65536;
export const MAX_PAGES = 65536;

/** Module bytes: one function type per function (all parameters i32, no result), `env.mem` imported, all exported by name. */
export function moduleBytes(fns: Fn[]): Uint8Array {
  const types = fns.map((fn) => [0x60, ...vec(new Array<number[]>(fn.nParams).fill([I32])), 0]);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    // (import "env" "mem" (memory 1 65536 shared)): the matrix can live in it and be shared by worker threads.
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((fn, i) => [...str(fn.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(fns.map((fn) => fn.body()))),
  ];
  return Uint8Array.from(bytes);
}
