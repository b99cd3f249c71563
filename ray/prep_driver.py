"""Phase 1 of metavec on a Ray cluster (docs/ray.md).

Run as a Ray job whose working directory is the metavec package (`metavec prep --engine ray` uploads it):

    python ray/prep_driver.py --actors 2 [--num-gpus 0] [--slice-fragments N] -- <metavec prep options>

1. `metavec prep-plan` resolves the parameters and cuts the inputs into record-aligned slices.
2. Spectrum stage (error correction on): Ray Data feeds the slices to an actor pool; every actor owns one
   long-lived Node process (`metavec prep-worker --stdio`) and talks Arrow IPC to it over stdin/stdout.
   The partial sketches stream into `metavec prep-spectrum --stdin` (merge by max / sum).
3. Prep stage: the same actors' workers run QC, correction, statistics and embedding per slice; the results,
   in slice order, stream into `metavec prep-merge --stdin`, which de-duplicates in input order and writes
   the shards and the manifest (last).

All pipeline logic is in the Node stages; this driver only moves slices and bytes.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import struct
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.ipc as ipc
import ray

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.path.join(ROOT, "dist", "src", "cli", "main.js")
NODE = os.environ.get("METAVEC_NODE", "node")
FRAME_HEADER = 8  # little-endian uint64 length before every Arrow IPC message
# Error messages from the Node side are wrapped so the driver finds them inside Ray's exception chain.
ERROR_MARK = "<<metavec-error>>"
ERROR_END = "<<end>>"
# A worker that dies mid-slice (killed, OOM) is restarted and the slice re-run this many times.
WORKER_RETRIES = 3


def log(msg: str) -> None:
    print(f"metavec-ray: {msg}", file=sys.stderr, flush=True)


class SliceError(Exception):
    """An input or usage error reported by the Node worker: not retried, fails the job with its message."""


def _die_with_parent() -> None:
    # Linux: the worker gets SIGKILL when the actor process that spawned it dies (PR_SET_PDEATHSIG = 1).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def read_exact(stream, n: int) -> bytes | None:
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def request(op: str, plan: str, slice_index: int, r1: bytes | None, r2: bytes | None) -> bytes:
    cols = {"op": pa.array([op], pa.utf8()), "plan": pa.array([plan], pa.utf8()), "slice": pa.array([slice_index], pa.int32())}
    if r1 is not None:
        cols["r1"] = pa.array([r1], pa.binary())
    if r2 is not None:
        cols["r2"] = pa.array([r2], pa.binary())
    table = pa.table(cols).replace_schema_metadata({"metavec.kind": "request"})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def check_reply(reply: bytes) -> None:
    meta = ipc.open_stream(reply).schema.metadata or {}
    if meta.get(b"metavec.kind") == b"error":
        code = meta.get(b"metavec.code", b"INTERNAL").decode()
        raise SliceError(f"{ERROR_MARK}{meta.get(b'metavec.message', b'').decode()}{ERROR_END}")


class SliceWorker:
    """Ray Data actor: owns one Node worker process for its whole life (the process keeps plan and sketch loaded)."""

    def __init__(self, op: str, plan: str):
        self.op = op
        self.plan = plan
        self.proc: subprocess.Popen | None = None
        self._spawn()

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            [NODE, CLI, "prep-worker", "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the worker's log lines go to the actor's log
            cwd=ROOT,
            preexec_fn=_die_with_parent,
        )
        log(f"actor pid {os.getpid()}: started prep-worker pid {self.proc.pid} ({self.op})")

    def _roundtrip(self, req: bytes) -> bytes | None:
        p = self.proc
        try:
            p.stdin.write(struct.pack("<Q", len(req)))
            p.stdin.write(req)
            p.stdin.flush()
            head = read_exact(p.stdout, FRAME_HEADER)
            if head is None:
                return None
            return read_exact(p.stdout, struct.unpack("<Q", head)[0])
        except (BrokenPipeError, ConnectionResetError):
            return None

    def _run(self, slice_index: int, r1: bytes | None, r2: bytes | None) -> bytes:
        req = request(self.op, self.plan, slice_index, r1, r2)
        for attempt in range(WORKER_RETRIES + 1):
            reply = self._roundtrip(req)
            if reply is not None:
                check_reply(reply)
                return reply
            code = self.proc.wait()
            log(f"prep-worker pid {self.proc.pid} died (exit {code}) during {self.op} slice {slice_index}; restarting it (attempt {attempt + 1})")
            self._spawn()
        raise RuntimeError(f"prep-worker died {WORKER_RETRIES + 1} times on {self.op} slice {slice_index}")

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        out = [self._run(r["slice"], r.get("r1"), r.get("r2")) for r in rows]
        return pa.table({"slice": pa.array([r["slice"] for r in rows], pa.int32()), "payload": pa.array(out, pa.large_binary())})

    def __del__(self):
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                p.stdin.close()  # the worker exits when its stdin closes
                p.wait(timeout=10)
            except Exception:
                p.kill()


def node(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([NODE, CLI, *args], cwd=ROOT, **kw)


def inline_slices(plan_path: str) -> dict[int, dict[str, bytes]]:
    """gzip has no random access: `metavec prep-cut` decompresses each gzip input once, in order (local or s3://),
    and writes every slice's bytes as frames; they travel to the actors inline (Ray object store)."""
    out: dict[int, dict[str, bytes]] = {}
    p = node("prep-cut", "--plan", plan_path, stdout=subprocess.PIPE)
    while True:
        head = read_exact(p.stdout, FRAME_HEADER)
        if head is None:
            break
        payload = read_exact(p.stdout, struct.unpack("<Q", head)[0])
        if payload is None:
            break
        t = ipc.open_stream(payload).read_all()
        out.setdefault(t.column("slice")[0].as_py(), {})[t.column("mate")[0].as_py()] = t.column("data")[0].as_py()
    if p.wait() != 0:
        raise SliceError(f"prep-cut failed (exit {p.returncode}); see its message above")
    return out


def run_stage(op: str, plan_path: str, items: list[dict], actors: int, num_gpus: float, consumer: subprocess.Popen) -> None:
    n = 0
    try:
        if items:  # a resumed run may have nothing left to compute: the merge then reads every slice from its parts
            ctx = ray.data.DataContext.get_current()
            ctx.execution_options.preserve_order = True  # the merge needs slice order
            ds = ray.data.from_items(items, override_num_blocks=len(items))
            ds = ds.map_batches(
                SliceWorker,
                fn_constructor_kwargs={"op": op, "plan": plan_path},
                batch_size=1,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
                num_cpus=1,
                num_gpus=num_gpus if op == "prep" else 0,
            )
            for batch in ds.iter_batches(batch_size=1, batch_format="pyarrow", prefetch_batches=1):
                for payload in batch.column("payload").to_pylist():
                    consumer.stdin.write(struct.pack("<Q", len(payload)))
                    consumer.stdin.write(payload)
                    n += 1
        consumer.stdin.flush()
    except BrokenPipeError:
        pass  # the merge failed; its exit status and message are reported below
    except BaseException:
        consumer.kill()  # not a clean end of input: the merge must not finish
        consumer.wait()
        raise
    try:
        consumer.stdin.close()
    except BrokenPipeError:
        pass
    code = consumer.wait()
    if code != 0:
        raise SliceError(f"{op} merge failed (exit {code}); see its message above")
    log(f"{op} stage: {n} slices merged")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actors", type=int, default=0, help="actor pool size (default: the cluster's CPUs)")
    ap.add_argument("--num-gpus", type=float, default=0, help="GPUs per prep actor (the ONNX embedder)")
    ap.add_argument("--slice-fragments", type=int, default=0, help="fragments per slice (default: metavec's)")
    ap.add_argument("--merge-threads", type=int, default=2)
    ap.add_argument("prep_args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    prep_args = a.prep_args[1:] if a.prep_args[:1] == ["--"] else a.prep_args
    t0 = time.time()
    ray.init()
    actors = a.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))

    # --resume: keep what an interrupted run of the same plan left in OUTPUT/_prep_work (docs/reliability.md)
    plan_cmd = ["prep-plan", *prep_args, "--resume", "--json", "--quiet"]
    if a.slice_fragments:
        plan_cmd += ["--slice-fragments", str(a.slice_fragments)]
    p = node(*plan_cmd, stdout=subprocess.PIPE)
    out, _ = p.communicate()
    if p.returncode != 0:
        raise SliceError(f"prep-plan failed (exit {p.returncode}); see its message above")
    info = json.loads(out)
    # the plan may be an s3:// object (an S3 output): only the Node side reads it
    plan_path = info["plan"]
    log(f"plan: {info['fragments']} fragments in {info['slices']} slices, {actors} actors, correction {'on' if info['correct'] else 'off'}")

    # resume (absent for s3:// outputs): slices whose results an earlier run of this plan kept, and its spectrum
    resume = info.get("resume")
    reused = set(resume["reused"]) if resume else set()
    spectrum_reused = bool(resume and resume["spectrum"])
    if resume and "message" in resume:
        log(resume["message"])

    need_all = info["correct"] and not spectrum_reused  # the spectrum needs every slice
    pending = [i for i in range(info["slices"]) if i not in reused]
    inline = inline_slices(plan_path) if info["gzip"] and (need_all or pending) else {}
    items = []
    for i in range(info["slices"]):
        item = {"slice": i}
        item.update(inline.get(i, {}))
        items.append(item)

    if need_all:
        merge = node("prep-spectrum", "--plan", plan_path, "--stdin", stdin=subprocess.PIPE)
        run_stage("spectrum", plan_path, items, actors, 0, merge)
    keep = ["--parts", resume["parts"], "--reused", ",".join(map(str, sorted(reused)))] if resume else []
    merge = node("prep-merge", "--plan", plan_path, "--stdin", *keep, "--json", "--quiet", "--threads", str(a.merge_threads), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # prep-merge prints its JSON summary at the end; read it after the stage closed its stdin.
    run_stage("prep", plan_path, [items[i] for i in pending], actors, a.num_gpus, merge)
    summary = json.loads(merge.stdout.read() or b"{}")
    if "manifest" not in summary:
        raise SliceError("prep-merge printed no summary")
    if reused or spectrum_reused:
        summary["resumed"] = True
        summary["resumedFrom"] = {"fragments": resume["fragments"], "shards": 0, "spectrum": spectrum_reused}
    summary["engine"] = {"name": "ray", "actors": actors, "slices": info["slices"], "reused_slices": len(reused), "seconds": round(time.time() - t0, 3)}
    # One marked line the client picks out of the job log.
    print("METAVEC_SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - every failure becomes one clear line for the client
        text = str(e)
        i = text.find(ERROR_MARK)
        if i >= 0:
            msg = text[i + len(ERROR_MARK):].split(ERROR_END)[0]
        elif isinstance(e, SliceError):
            msg = text
        else:
            raise
        print(f"metavec: error: {msg}", file=sys.stderr, flush=True)
        # Under the Jobs API a plain sys.exit(1) here ended as driver_exit_code 0 (Ray's exit hooks while Ray Data
        # threads were still shutting down): leave without them so the job is FAILED.
        try:
            ray.shutdown()
        finally:
            os._exit(1)
