// Shared by the bench scripts that prep a simulated community, cluster it and score the labels against its truth
// (depth-series.mjs, correction-value.mjs): the community's description, a child run measured under /usr/bin/time -v
// with an optional memory cap, and `metavec eval --json`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const readTsv = (path) => {
  const [head, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n');
  const cols = head.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
};

/** The community `name` in `dir` (the dev community: devDir): truth, pairs, species, simulator, shares; { missing } when absent. */
export function communityInfo(name, dir) {
  const truth = ['truth.tsv.gz', 'truth.tsv'].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (!truth || !existsSync(join(dir, 'composition.tsv'))) return { name, dir, missing: true };
  const comp = readTsv(join(dir, 'composition.tsv'));
  // generator.tsv: key<TAB>value lines (make-depth-series.sh, iss-community.py)
  const gen = existsSync(join(dir, 'generator.tsv'))
    ? Object.fromEntries(readFileSync(join(dir, 'generator.tsv'), 'utf8').trimEnd().split('\n').map((l) => [l.slice(0, l.indexOf('\t')), l.slice(l.indexOf('\t') + 1)]))
    : {};
  const generator = gen.generator ?? (name === 'dev' ? 'make-community.py (ART HiSeq 2500 2x150), dev community' : 'unknown');
  const simulator = /InSilicoSeq/.test(generator) ? `ISS ${generator.match(/--model (\S+)/)?.[1] ?? ''}`.trim() : 'ART HiSeq 2500';
  return {
    name,
    dir,
    truth,
    pairs: comp.reduce((s, r) => s + Number(r.pairs_total), 0),
    species: new Set(comp.map((r) => r.species)).size,
    genomes: comp.length,
    simulator,
    read_length: Number(gen.read_length ?? 150),
    seed: gen.seed !== undefined ? Number(gen.seed) : null,
    generator,
    shares: comp.map((r) => ({ species: r.species, strain: r.strain, target_share: Number(r.target_share), observed_share: Number(r.observed_share) })),
  };
}

/** CPU jiffies of the whole machine: [busy, total]. */
function cpuTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

/** Resident set (KiB) of pid and all its descendants. */
function treeRssKb(pid) {
  let kb = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    try {
      const m = readFileSync(`/proc/${p}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
      if (m) kb += Number(m[1]);
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return kb;
}

const descendants = (pid) => {
  const out = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/).map(Number)) { out.push(k); stack.push(k); }
      }
    } catch {
      // ended
    }
  }
  return out;
};

/**
 * Runs `node cli ...argv` under /usr/bin/time -v, killing it when its resident set exceeds capKb; stderr goes to
 * `${logPrefix}.log`, time's report to `${logPrefix}.time`.
 * Resolves to { status: 'ok'|'killed'|'failed', exit, wall_s, cpu_s, peak_rss_kb, other_cpu_s, machine_cpu_s, stdout, stderr_tail }.
 */
export function measured(cli, argv, logPrefix, capKb = Infinity) {
  return new Promise((done) => {
    const timeFile = `${logPrefix}.time`;
    const [busy0, total0] = cpuTicks();
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, cli, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    let killed = false;
    let polledPeak = 0;
    const timer = setInterval(() => {
      const kb = treeRssKb(child.pid);
      polledPeak = Math.max(polledPeak, kb);
      if (kb > capKb && !killed) {
        killed = true;
        for (const p of descendants(child.pid)) {
          try { process.kill(p, 'SIGKILL'); } catch { /* ended */ }
        }
      }
    }, 250);
    child.on('close', (code) => {
      clearInterval(timer);
      const [busy1, total1] = cpuTicks();
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      writeFileSync(`${logPrefix}.log`, stderr);
      const t = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
      const num = (re) => Number(t.match(re)?.[1] ?? NaN);
      const el = t.match(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/)?.[1] ?? '';
      const wall = el.split(':').reduce((s, x) => s * 60 + Number(x), 0);
      const cpu = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
      const exit = t.match(/Exit status: (\d+)/) ? num(/Exit status: (\d+)/) : code;
      const hz = 100;
      const otherCpu = Math.max(0, (busy1 - busy0) / hz - cpu);
      done({
        status: killed ? 'killed' : exit === 0 && !/terminated by signal/.test(t) ? 'ok' : 'failed',
        exit,
        wall_s: +wall.toFixed(2),
        cpu_s: +cpu.toFixed(2),
        peak_rss_kb: Math.max(num(/Maximum resident set size \(kbytes\): (\d+)/) || 0, polledPeak),
        other_cpu_s: +otherCpu.toFixed(1),
        machine_cpu_s: +((total1 - total0) / hz).toFixed(1),
        stdout,
        stderr_tail: stderr.trim().split('\n').slice(-5).join('\n'),
      });
    });
  });
}

/** First value of `key` anywhere in a JSON object (depth-first). */
export function findKey(obj, key) {
  if (obj === null || typeof obj !== 'object') return undefined;
  if (key in obj) return obj[key];
  for (const v of Object.values(obj)) {
    const r = findKey(v, key);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * Scores the cluster run in `out` (its summary.json and labels) against `truth` with `metavec eval --json` (species):
 * method, K, ARI, NMI, F1 over the truth reads that have a label, and the assigned fraction.
 */
export function scoreRun(cli, out, truth) {
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const labels = join(out, summary.outputs?.labels ?? 'labels.parquet');
  const e = spawnSync(process.execPath, [cli, 'eval', '--labels', labels, '--truth', truth, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (e.status !== 0) throw new Error(`eval of ${out} failed:\n${e.stderr}`);
  const ev = JSON.parse(e.stdout);
  const a = ev.assigned;
  const af = findKey(summary, 'assigned_fraction');
  const score = {
    method: summary.method,
    k: summary.k,
    ari: +a.ari.toFixed(4),
    nmi: +a.nmi.toFixed(4),
    f1_weighted: +a.f1.weighted.toFixed(4),
    f1_macro: +a.f1.macro.toFixed(4),
    // eval --json names its fields in snake_case (all_reads, assigned_fraction); older builds used camelCase
    ari_all_truth_reads: +(ev.all_reads ?? ev.allReads).ari.toFixed(4),
    assigned_fraction: typeof af === 'number' ? +af.toFixed(4) : 1,
    assigned_fraction_source: typeof af === 'number' ? 'summary.json' : 'not reported by the method (1)',
    truth_reads_labelled: +(ev.assigned_fraction ?? ev.assignedFraction).toFixed(4),
  };
  const g = summary.method_details?.graph;
  if (g?.build_bytes_per_fragment !== undefined) score.graph_build_bytes_per_fragment = g.build_bytes_per_fragment;
  return score;
}
