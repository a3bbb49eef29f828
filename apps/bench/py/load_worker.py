#!/usr/bin/env python3
# A C-core load worker (--load-generator c-core): the bench's load worker (src/load-worker.ts)
# written against gRPC's C core (Python grpcio, Debian's python3-grpcio) instead of grpc-js, so a
# target is measured with a client that is not ours and costs a fraction of the CPU per call.
#
# It speaks the Node worker's protocol over the IPC channel Node opens for it (the file
# descriptor in NODE_CHANNEL_FD, one JSON object per line; the bench spawns it with
# serialization 'json'): parent -> connect {spec, batch} | phase {phase} | close; worker -> ready
# | progress {done} | done {done} | error {message}. What it sends back has the Node worker's
# shape: a tally (ok, errors by status, per-operation latency as HdrHistogram bucket counts of
# nanoseconds, stats.ts bucketFloor), its window in epoch milliseconds and its own CPU.
#
# Operations are the harness's: a YCSB op mix (workload.ts), uniform or scrambled zipfian keys
# `user<N>`, values of --value-bytes 'a's with 4 random leading bytes, closed-loop workers. The
# drivers send unary RPCs with hand-encoded protobuf (a few fields each, no generated code):
#   echo       ringstore.v1.KV Get/Put to the echo server (or echo-quorum's three, round-robin)
#   ringstore  ringstore.v1.KV Get/Put, round-robin over the nodes, an update carrying the
#              context of the key's last read or write (as the Node driver does), unary only
#   etcd       etcdserverpb.KV Range/Put, round-robin over the members (linearizable reads)
import asyncio
import functools
import json
import math
import os
import random as pyrandom
import resource
import sys
import threading
import time

import grpc

PROGRESS_INTERVAL_S = 0.2
ZIPFIAN_THETA = 0.99
CONTEXT_CACHE_MAX = 1_000_000
SUB_BUCKET_BITS = 11
WORKER_SEED_STEP = 0x9E3779B9
MASK32 = 0xFFFFFFFF


# --- the harness's randomness and key choice (workload.ts), ported ---------------------------


def imul(a, b):
    return (a * b) & MASK32


def seeded_random(seed):
    """mulberry32, as @ringstore/tools createRng."""
    state = [seed & MASK32]

    def nxt():
        state[0] = (state[0] + 0x6D2B79F5) & MASK32
        t = state[0]
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296

    return nxt


@functools.lru_cache(maxsize=64)
def zipfian_zeta(items):
    """zeta(items), summed once per process: every closed-loop worker builds its own chooser."""
    return math.fsum(1 / math.pow(i, ZIPFIAN_THETA) for i in range(1, items + 1))


def zipfian_chooser(items, random):
    zeta_n = zipfian_zeta(items)
    zeta2 = 1 + 1 / math.pow(2, ZIPFIAN_THETA)
    alpha = 1 / (1 - ZIPFIAN_THETA)
    eta = (1 - math.pow(2 / items, 1 - ZIPFIAN_THETA)) / (1 - zeta2 / zeta_n)
    half = math.pow(0.5, ZIPFIAN_THETA)

    def choose():
        u = random()
        uz = u * zeta_n
        if uz < 1:
            return 0
        if uz < 1 + half:
            return min(1, items - 1)
        return min(items - 1, math.floor(items * math.pow(eta * u - eta + 1, alpha)))

    return choose


def fnv1a64(n):
    h = 0xCBF29CE484222325
    for c in str(n):
        h ^= ord(c)
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def key_chooser(distribution, items, random):
    if distribution == "uniform":
        return lambda: math.floor(random() * items)
    rank = zipfian_chooser(items, random)
    return lambda: fnv1a64(rank()) % items


def record_key(i):
    return b"user%d" % i


def value_maker(size, random):
    base = b"a" * size

    def make():
        if size < 4:
            return base
        return int(random() * 0x1_0000_0000).to_bytes(4, "little") + base[4:]

    return make


def bucket_floor(value):
    shift = max(0, value.bit_length() - SUB_BUCKET_BITS)
    return (value >> shift) << shift


# --- protobuf, by hand: the few fields these calls have -------------------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def length_field(message, number):
    """The last length-delimited field `number` of a message, or b''."""
    found = b""
    i, end = 0, len(message)
    while i < end:
        tag, i = read_varint(message, i)
        kind = tag & 7
        if kind == 0:
            _, i = read_varint(message, i)
        elif kind == 1:
            i += 8
        elif kind == 5:
            i += 4
        elif kind == 2:
            size, i = read_varint(message, i)
            if tag >> 3 == number:
                found = message[i : i + size]
            i += size
        else:
            raise ValueError("unsupported wire type %d" % kind)
    return found


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


identity = lambda b: b  # noqa: E731  (requests and responses stay bytes)


# --- drivers -----------------------------------------------------------------------------


class Driver:
    """read/update/insert as coroutines; unary calls round-robin over the channels."""

    def __init__(self, addresses, deadline_ms, methods):
        self.channels = [grpc.aio.insecure_channel(a) for a in addresses]
        self.calls = [
            {
                name: ch.unary_unary(path, request_serializer=identity, response_deserializer=identity)
                for name, path in methods.items()
            }
            for ch in self.channels
        ]
        self.timeout = deadline_ms / 1000
        self.next = 0

    def pick(self):
        c = self.calls[self.next % len(self.calls)]
        self.next += 1
        return c

    async def close(self):
        for ch in self.channels:
            await ch.close()


class KvDriver(Driver):
    """ringstore.v1.KV (a ringstore cluster, or the echo server that answers like one)."""

    def __init__(self, addresses, deadline_ms, contexts):
        super().__init__(
            addresses, deadline_ms, {"get": "/ringstore.v1.KV/Get", "put": "/ringstore.v1.KV/Put"}
        )
        self.contexts = contexts

    def remember(self, key, context):
        if self.contexts is None:
            return
        self.contexts.pop(key, None)
        self.contexts[key] = context
        if len(self.contexts) > CONTEXT_CACHE_MAX:
            del self.contexts[next(iter(self.contexts))]

    async def read(self, key):
        reply = await self.pick()["get"](field_bytes(1, key), timeout=self.timeout)
        self.remember(key, length_field(reply, 2))

    async def update(self, key, value):
        context = self.contexts.get(key, b"") if self.contexts is not None else b""
        request = field_bytes(1, key) + field_bytes(2, value)
        if context:
            request += field_bytes(3, context)
        reply = await self.pick()["put"](request, timeout=self.timeout)
        self.remember(key, length_field(reply, 1))

    async def insert(self, key, value):
        reply = await self.pick()["put"](
            field_bytes(1, key) + field_bytes(2, value), timeout=self.timeout
        )
        self.remember(key, length_field(reply, 1))


class EtcdDriver(Driver):
    def __init__(self, addresses, deadline_ms):
        super().__init__(
            addresses, deadline_ms, {"range": "/etcdserverpb.KV/Range", "put": "/etcdserverpb.KV/Put"}
        )

    async def read(self, key):
        await self.pick()["range"](field_bytes(1, key), timeout=self.timeout)

    async def update(self, key, value):
        await self.pick()["put"](field_bytes(1, key) + field_bytes(2, value), timeout=self.timeout)

    insert = update


def driver_from_spec(spec):
    kind = spec["kind"]
    if kind == "echo":
        if spec.get("session"):
            raise ValueError("the c-core load generator sends unary calls: not echo-session")
        return KvDriver(spec["addresses"], spec["deadlineMs"], None)
    if kind == "ringstore":
        if spec.get("sessions"):
            raise ValueError("the c-core load generator sends unary calls: not KV.Session")
        if spec.get("security"):
            raise ValueError("the c-core load generator is plaintext only")
        return KvDriver(spec["seeds"], spec["deadlineMs"], {})
    if kind == "etcd":
        return EtcdDriver(spec["addresses"], spec["deadlineMs"])
    raise ValueError("unknown target kind %r" % kind)


# --- a phase (harness.ts runPhaseTally), closed loop --------------------------------------


class Inserts:
    def __init__(self, first, step):
        self.issued = first
        self.step = step

    def take(self):
        n = self.issued
        self.issued += self.step
        return n


class Tally:
    def __init__(self):
        self.started = self.ok = self.errors = 0
        self.errors_by_status = {}
        self.latency = {}

    def record_ok(self, op, ns):
        buckets = self.latency.setdefault(op, {})
        floor = bucket_floor(max(1, ns))
        buckets[floor] = buckets.get(floor, 0) + 1
        self.ok += 1

    def record_error(self, e):
        self.errors += 1
        kind = e.code().name if isinstance(e, grpc.aio.AioRpcError) else type(e).__name__
        self.errors_by_status[kind] = self.errors_by_status.get(kind, 0) + 1

    def data(self):
        latency = {}
        for op, buckets in self.latency.items():
            floors = sorted(buckets)
            latency[op] = {"values": floors, "counts": [buckets[v] for v in floors]}
        return {
            "started": self.started,
            "ok": self.ok,
            "errors": self.errors,
            "errorsByStatus": dict(self.errors_by_status),
            "latency": latency,
        }


def operation_maker(driver, phase, inserts, seed):
    w = phase["mix"]
    random = seeded_random(seed)
    records = phase["records"]
    choose_key = key_chooser(phase["distribution"], records, random) if records > 0 else (lambda: 0)
    make_value = value_maker(phase["valueBytes"], random)

    def nxt():
        u = random()
        op = "read" if u < w["read"] else "update" if u < w["read"] + w["update"] else "insert"
        if op != "insert" and records == 0:
            op = "insert"
        if op == "read":
            return op, driver.read, (record_key(choose_key()),)
        key = record_key(choose_key() if op == "update" else inserts.take())
        return op, (driver.update if op == "update" else driver.insert), (key, make_value())

    return nxt


def cpu_us():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return round((r.ru_utime + r.ru_stime) * 1e6)


async def run_share(driver, phase, send):
    inserts = Inserts(phase["insertsFrom"], phase["insertsStep"])
    tally = Tally()
    stop = phase["stop"]
    # Every worker's operation stream is built before the clock starts (as the harness does).
    streams = [
        operation_maker(driver, phase, inserts, phase["seed"] + i * WORKER_SEED_STEP)
        for i in range(phase["concurrency"])
    ]
    started = time.monotonic()
    end = started + stop["durationMs"] / 1000 if "durationMs" in stop else math.inf
    limit = stop.get("operations", math.inf)

    def more():
        return tally.started < limit and time.monotonic() < end

    async def worker(nxt):
        while more():
            tally.started += 1
            op, fn, args = nxt()
            t0 = time.perf_counter_ns()
            try:
                await fn(*args)
                tally.record_ok(op, time.perf_counter_ns() - t0)
            except Exception as e:  # every failure is counted by its kind, as the harness does
                tally.record_error(e)

    async def ticker():
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            send({"kind": "progress", "done": tally.ok + tally.errors})

    cpu_before = cpu_us()
    started_at_ms = time.time() * 1000
    tick = asyncio.ensure_future(ticker())
    try:
        await asyncio.gather(*(worker(nxt) for nxt in streams))
    finally:
        tick.cancel()
    duration_ms = (time.monotonic() - started) * 1000
    send({"kind": "progress", "done": tally.ok + tally.errors})
    return {
        "pid": os.getpid(),
        "tally": tally.data(),
        "startedAtMs": started_at_ms,
        "endedAtMs": time.time() * 1000,
        "durationMs": duration_ms,
        "cpuUs": cpu_us() - cpu_before,
        "insertsNext": inserts.issued,
    }


# --- the channel to the bench ----------------------------------------------------------------


def main():
    fd_text = os.environ.get("NODE_CHANNEL_FD")
    if fd_text is None:
        sys.stderr.write("load_worker.py: started by the bench (--load-generator c-core), not by hand\n")
        return 2
    fd = int(fd_text)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    inbox = asyncio.Queue()
    write_lock = threading.Lock()

    def send(message):
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        with write_lock:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]

    def reader():
        buffered = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:  # the bench is gone: so is this worker
                os._exit(1)
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                if line.strip():
                    loop.call_soon_threadsafe(inbox.put_nowait, json.loads(line))

    threading.Thread(target=reader, daemon=True).start()

    async def serve():
        driver = None
        while True:
            m = await inbox.get()
            kind = m.get("kind")
            try:
                if kind == "connect":
                    driver = driver_from_spec(m["spec"])
                    for ch in driver.channels:
                        await asyncio.wait_for(
                            ch.channel_ready(), timeout=driver.timeout + 30
                        )
                    send({"kind": "ready", "batch": 1})
                elif kind == "phase":
                    if driver is None:
                        send({"kind": "error", "message": "a phase before connect"})
                        continue
                    send({"kind": "done", "done": await run_share(driver, m["phase"], send)})
                elif kind == "close":
                    if driver is not None:
                        await driver.close()
                    return 0
            except Exception as e:  # reported to the bench, which stops this pid
                send({"kind": "error", "message": "%s: %s" % (kind, e)})

    return loop.run_until_complete(serve())


if __name__ == "__main__":
    sys.exit(main())
