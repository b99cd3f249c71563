#!/usr/bin/env python3
"""CPU seconds of a `metavec prep` run per Phase 1 stage, from a `perf` profile of all its threads.

    perf record -F 499 -g -o prep.perf -- node --perf-basic-prof dist/src/cli/main.js prep ... --no-correct
    perf script -i prep.perf --no-demangle -F tid,ip,sym,dso > prep.stacks
    python3 bench/perf-stages.py prep.stacks [HZ=499] [--unknown]

perf samples only threads that are on a CPU, so the numbers hold on a shared machine (node --cpu-prof samples
wall-clock time and counts a descheduled thread as busy). Each sample goes to the first stage whose pattern
matches a frame of its call stack, leaf first (kernel page faults land in the stage that touched the page);
functions the JIT inlined count for their caller (e.g. the k-mer profile can show up as the batch loop).
docs/performance.md has the tables this prints.
"""
import collections
import re
import sys

RULES = [
    ('minimizer sketch', r'mateMinimizers|fragmentSketch|kmerHashes|hashCode|\bfmix\b|JS:\*?less |ensureCapacity'),
    ('embedding (k-mer profile)', r'kmerProfile\.js|countKmers|normaliseRow|JS:\*?embed '),
    ('QC: adapters + overlap', r'findOverlap|findAdapter|countMism|encodeForward|encodeRevComp|trimAdapterBySequence|\bmism\b'),
    ('QC: stats, trimming, filters', r'addRead|addInsert|addGc|filterRead|trimMate|cutFront|cutTail|trimPolyG|quality\.js|filters\.js|stats\.js'),
    ('dedup (fingerprint, Bloom, levels)', r'fragmentHash|bloom\.js|levels\.js|testAndSet'),
    ('parse (FASTQ records)', r'seqParser\.js|parseFastq|parseRecords|setId|checkMateNames|mates\.js'),
    ('read + inflate (gzip, record framing)', r'inflate|adler32|crc32|recordReader\.js|readBatches\.js|IndexOfValue|TypedArrayPrototypeIndexOf|zlib'),
    ('shard encode + write (DuckDB appender, COPY, zstd, sha256)', r'duckdb|shards\.js|sha256|prepSink\.js'),
    ('batch loop (processBatch, result copies)', r'batch\.js|processBatch'),
    ('thread hand-off (copies, messages)', r'transferableCopy|retry\.js|postMessage|worker_pool|piscina|Serializ|Deserializ|MessagePort|atomicsWait'),
    ('V8 GC', r'_ZN2v88internal.*(Mark|Sweep|Scaveng|Evacuat|Heap|GC|Compact|Collector)'),
    ('V8 compile (JIT)', r'compiler|Compil|Liftoff|wasm|Turbofan|Maglev|Parser|Scanner|Bytecode'),
]
RX = [(name, re.compile(p)) for name, p in RULES]
FRAME = re.compile(r"^\t\s*[0-9a-f]+\s+(.*)\s+\(([^()]*)\)\s*$")


def classify(stack):
    for frame in stack:
        for name, rx in RX:
            if rx.search(frame):
                return name
    return None


def main():
    path = sys.argv[1]
    hz = float(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith('--') else 499.0
    totals = collections.Counter()
    unknown = collections.Counter()
    stack = []

    def flush():
        if not stack:
            return
        c = classify(stack)
        if c is None:
            c = 'other (kernel, libc, start-up)'
            unknown[stack[0][:90]] += 1
        totals[c] += 1

    with open(path) as f:
        for line in f:
            if not line.startswith('\t'):
                flush()
                stack.clear()
                continue
            m = FRAME.match(line)
            if m:
                stack.append(f'{m.group(1)} {m.group(2)}')
    flush()
    n = sum(totals.values())
    print(f'{n} samples = {n / hz:.1f} CPU-s')
    for name, v in totals.most_common():
        print(f'| {name} | {v / hz:.2f} | {100 * v / n:.1f}% |')
    if '--unknown' in sys.argv:
        for frame, v in unknown.most_common(20):
            print(f'    {v} {frame}')


if __name__ == '__main__':
    main()
