"""Write synthetic capture files with the layout cffi learns from cltrace_format.h.

Single records are built with cffi (ffi.new on the header's own structs); the
bulk path builds numpy arrays with the dtypes derived from the same layout, so
benchmarks can write millions of launches quickly.

    b = CaptureBuilder(pid=100)
    b.process(["app"]); b.device(0xD0, "cpu"); b.queue(0x10, device=0xD0)
    b.kernel(0x20, "conv"); seq = b.launch(0x10, 0x20, (64,), (8,)); b.times(seq, 10, 20)
    b.write(tmp_path / "100.clt")
"""
import numpy as np

from cltrace.capture.format import (CHUNK_HEADER_DTYPE, CHUNK_HEADER_SIZE, CHUNK_MAGIC, FILE_HEADER_DTYPE,
                                    FILE_HEADER_SIZE, FORMAT_VERSION, MAGIC, REC_DTYPE, K, ffi)

NOTE_EXIT = K.CLT_NOTE_EXIT


def _pad8(b):
    return b + b"\0" * (-len(b) % 8)


def _strings(*items):
    return b"".join(s.encode() + b"\0" for s in items)


class CaptureBuilder:
    def __init__(self, pid=4242, ppid=1, chunk_size=16384, mode="layer", version=FORMAT_VERSION,
                 start_mono_ns=1_000_000_000, tid=None):
        self.pid, self.ppid, self.chunk_size, self.mode = pid, ppid, chunk_size, mode
        self.version, self.start_mono_ns = version, start_mono_ns
        self.tid = tid if tid is not None else pid
        self.seq = 0
        self.t = start_mono_ns
        self.chunks = []        # [tid, bytearray of records]
        self.current = {}       # tid -> index into self.chunks

    # -- low level ------------------------------------------------------------
    def next_seq(self):
        self.seq += 1
        return self.seq

    def now(self):
        self.t += 1000
        return self.t

    def record(self, ctype, rtype, fields, strings=b"", tid=None):
        """Append one record built by cffi; returns its bytes."""
        body = bytes(ffi.buffer(ffi.new(ctype + " *", fields)))
        raw = _pad8(body + strings)
        raw = np.frombuffer(raw, np.uint8).copy()
        raw[:8] = np.frombuffer(np.array([rtype | (len(raw) << 32)], "<u8").tobytes(), np.uint8)
        self.append_raw(raw.tobytes(), tid)
        return raw.tobytes()

    def append_raw(self, raw, tid=None):
        tid = self.tid if tid is None else tid
        room = self.chunk_size - CHUNK_HEADER_SIZE
        if len(raw) > room:
            raise ValueError("record larger than a chunk")
        i = self.current.get(tid)
        if i is None or len(self.chunks[i][1]) + len(raw) > room:
            self.chunks.append([tid, bytearray()])
            i = self.current[tid] = len(self.chunks) - 1
        self.chunks[i][1] += raw

    # -- records ----------------------------------------------------------------
    def process(self, argv, cwd="/tmp", env=(), tid=None):
        s = _strings(*argv, cwd, *env)
        return self.record("clt_process", K.CLT_REC_PROCESS, {
            "seq": self.next_seq(), "t_ns": self.now(), "pid": self.pid, "ppid": self.ppid,
            "argc": len(argv), "n_env": len(env), "strings_len": len(s)}, s, tid)

    def device(self, handle, name="cpu-dev", vendor="pocl", driver="3.1", platform="Portable Computing Language",
               device_type=2, compute_units=2, max_clock_mhz=3000, max_work_group_size=4096,
               global_mem_size=1 << 30, platform_handle=0x1, tid=None):
        return self.record("clt_device", K.CLT_REC_DEVICE, {
            "seq": self.next_seq(), "device": handle, "platform": platform_handle, "device_type": device_type,
            "max_work_group_size": max_work_group_size, "global_mem_size": global_mem_size,
            "compute_units": compute_units, "max_clock_mhz": max_clock_mhz,
            "len_name": len(name), "len_vendor": len(vendor), "len_driver": len(driver),
            "len_platform": len(platform)}, _strings(name, vendor, driver, platform), tid)

    def device_cl(self, handle, version="OpenCL 3.0 PoCL", c_version="OpenCL C 1.2 PoCL",
                  extensions="cl_khr_fp64 cl_khr_byte_addressable_store", non_uniform_wg=0, failed=0, tid=None):
        """The device's OpenCL level (format 4), as the shim writes it right after device(handle). None for a
        value makes its query fail (its CLT_DEVCL_NO_* bit in `failed`)."""
        bits = {"version": K.CLT_DEVCL_NO_VERSION, "c_version": K.CLT_DEVCL_NO_C_VERSION,
                "extensions": K.CLT_DEVCL_NO_EXTENSIONS, "non_uniform_wg": K.CLT_DEVCL_NO_NON_UNIFORM}
        values = {"version": version, "c_version": c_version, "extensions": extensions,
                  "non_uniform_wg": non_uniform_wg}
        for k, v in values.items():
            if v is None:
                failed |= bits[k]
        version, c_version, extensions = version or "", c_version or "", extensions or ""
        return self.record("clt_device_cl", K.CLT_REC_DEVICE_CL, {
            "seq": self.next_seq(), "device": handle, "failed": failed, "non_uniform_wg": non_uniform_wg or 0,
            "len_version": len(version), "len_c_version": len(c_version), "len_extensions": len(extensions)},
            _strings(version, c_version, extensions), tid)

    def queue(self, handle, device, context=0x5, app_properties=0, used_properties=2, error=0, tid=None):
        return self.record("clt_queue", K.CLT_REC_QUEUE, {
            "seq": self.next_seq(), "t_ns": self.now(), "queue": handle, "context": context, "device": device,
            "app_properties": app_properties, "used_properties": used_properties, "error": error}, b"", tid)

    def program(self, handle, kind=K.CLT_BUILD, options="", t_start=None, t_end=None, error=0, tid=None):
        t_start = self.now() if t_start is None else t_start
        t_end = self.now() if t_end is None else t_end
        return self.record("clt_program", K.CLT_REC_PROGRAM, {
            "seq": self.next_seq(), "program": handle, "context": 0x5, "t_start_ns": t_start, "t_end_ns": t_end,
            "error": error, "kind": kind, "len_options": len(options)}, _strings(options), tid)

    def kernel(self, handle, name, program=0x30, attributes="", work_group_size=4096, preferred_multiple=8,
               num_args=3, tid=None):
        self.record("clt_kernel", K.CLT_REC_KERNEL, {
            "seq": self.next_seq(), "kernel": handle, "program": program, "work_group_size": work_group_size,
            "preferred_multiple": preferred_multiple, "num_args": num_args, "len_name": len(name),
            "len_attributes": len(attributes)}, _strings(name, attributes), tid)
        return self.seq

    def launch(self, queue, kernel, global_, local=None, offset=None, tid=None, flags=0, error=0,
               arg_bytes=0, small=False, return_dns=500):
        """A launch record; small: as the shim writes most launches (clt_launch_small, which needs zero
        offsets and 32-bit sizes)."""
        seq = self.next_seq()
        dims = len(global_)
        if local is None:
            flags |= K.CLT_LAUNCH_LOCAL_NULL
        if offset is None:
            flags |= K.CLT_LAUNCH_OFFSET_NULL
        pad = lambda v: list(v or ()) + [0] * (3 - len(v or ()))  # noqa: E731
        t = self.now()
        if small:
            self.record("clt_launch_small", K.CLT_REC_LAUNCH_SMALL, {
                "seq": seq, "t_enqueue_ns": t, "queue": queue, "kernel": kernel, "arg_bytes": arg_bytes,
                "return_dns": return_dns, "error": error, "global": pad(global_), "local": pad(local),
                "tid": self.tid if tid is None else tid, "flags": flags | dims << K.CLT_LAUNCH_DIM_SHIFT},
                b"", tid)
            return seq
        self.record("clt_launch", K.CLT_REC_LAUNCH, {
            "seq": seq, "t_enqueue_ns": t, "t_return_ns": t + return_dns, "queue": queue, "kernel": kernel,
            "arg_bytes": arg_bytes, "offset": pad(offset), "global": pad(global_), "local": pad(local),
            "tid": self.tid if tid is None else tid, "error": error, "work_dim": dims, "flags": flags}, b"", tid)
        return seq

    def times(self, seq, start, end, queued=None, submit=None, reason=K.CLT_TIMES_OK, status=0, tid=None):
        return self.record("clt_launch_times", K.CLT_REC_LAUNCH_TIMES, {
            "seq": seq, "queued_ns": start - 100 if queued is None else queued,
            "submit_ns": start - 50 if submit is None else submit, "start_ns": start, "end_ns": end,
            "status": status, "reason": reason}, b"", tid)

    def region_begin(self, region_id, name, tags="", tid=None):
        tid = self.tid if tid is None else tid
        self.record("clt_region", K.CLT_REC_REGION, {
            "seq": self.next_seq(), "t_ns": self.now(), "region_id": region_id, "tid": tid,
            "kind": K.CLT_REGION_BEGIN, "len_name": len(name), "len_tags": len(tags)}, _strings(name, tags), tid)
        return self.seq

    def region_end(self, region_id, tid=None):
        tid = self.tid if tid is None else tid
        self.record("clt_region", K.CLT_REC_REGION, {
            "seq": self.next_seq(), "t_ns": self.now(), "region_id": region_id, "tid": tid,
            "kind": K.CLT_REGION_END, "len_name": 0, "len_tags": 0}, _strings("", ""), tid)
        return self.seq

    def note(self, code, message="", value=0, tid=None):
        return self.record("clt_note", K.CLT_REC_NOTE, {
            "seq": self.next_seq(), "t_ns": self.now(), "value": value, "code": code,
            "len_message": len(message)}, _strings(message), tid)

    def exit_note(self, pending=0):
        return self.note(NOTE_EXIT, "", pending)

    def mem(self, handle, size, flags=1, tid=None):
        return self.record("clt_mem", K.CLT_REC_MEM, {"seq": self.next_seq(), "mem": handle, "size": size,
                                                       "flags": flags}, b"", tid)

    # -- bulk ---------------------------------------------------------------------
    def bulk_launches(self, n, queue, kernels, global_=(1024, 16), local=(16, 4), tid=None, timed=True,
                      duration_ns=1000, small=False):
        """n launches cycling over `kernels` (handles), each followed by its times record; small: as
        clt_launch_small records, the shim's choice for such launches."""
        tid = self.tid if tid is None else tid
        ld, td = REC_DTYPE[K.CLT_REC_LAUNCH], REC_DTYPE[K.CLT_REC_LAUNCH_TIMES]
        seqs = self.seq + 1 + np.arange(n, dtype=np.uint64)
        self.seq += n
        t0 = self.t + 1000 * (1 + np.arange(n, dtype=np.uint64))
        self.t += 1000 * (n + 1)
        L = np.zeros(n, ld)
        L["h"]["type"], L["h"]["size"] = K.CLT_REC_LAUNCH, ld.itemsize
        L["seq"], L["t_enqueue_ns"], L["t_return_ns"] = seqs, t0, t0 + 200
        L["queue"] = queue
        L["kernel"] = np.asarray(kernels, np.uint64)[np.arange(n) % len(kernels)]
        L["global"][:, :len(global_)] = global_
        if local is None:
            L["flags"] = K.CLT_LAUNCH_LOCAL_NULL | K.CLT_LAUNCH_OFFSET_NULL
        else:
            L["local"][:, :len(local)] = local
            L["flags"] = K.CLT_LAUNCH_OFFSET_NULL
        L["tid"], L["work_dim"] = tid, len(global_)
        units = L.view(np.uint8).reshape(n, ld.itemsize)
        if small:
            sd = REC_DTYPE[K.CLT_REC_LAUNCH_SMALL]
            S = np.zeros(n, sd)
            S["h"]["type"], S["h"]["size"] = K.CLT_REC_LAUNCH_SMALL, sd.itemsize
            for f in ("seq", "t_enqueue_ns", "queue", "kernel", "global", "local", "tid"):
                S[f] = L[f]
            S["return_dns"] = L["t_return_ns"] - L["t_enqueue_ns"]
            S["flags"] = L["flags"] | L["work_dim"] << K.CLT_LAUNCH_DIM_SHIFT
            units = S.view(np.uint8).reshape(n, sd.itemsize)
        if timed:
            T = np.zeros(n, td)
            T["h"]["type"], T["h"]["size"] = K.CLT_REC_LAUNCH_TIMES, td.itemsize
            T["seq"] = seqs
            T["queued_ns"], T["submit_ns"] = t0 + 300, t0 + 400
            T["start_ns"], T["end_ns"] = t0 + 500, t0 + 500 + duration_ns
            units = np.concatenate([units, T.view(np.uint8).reshape(n, td.itemsize)], axis=1)
        per = (self.chunk_size - CHUNK_HEADER_SIZE) // units.shape[1]
        for s in range(0, n, per):
            self.chunks.append([tid, bytearray(units[s:s + per].tobytes())])
        self.current.pop(tid, None)
        return seqs

    # -- output -------------------------------------------------------------------
    def header_bytes(self, magic=MAGIC):
        h = np.zeros(1, FILE_HEADER_DTYPE)
        h["magic"], h["version"], h["header_size"] = magic, self.version, FILE_HEADER_SIZE
        h["chunk_size"], h["pid"], h["ppid"] = self.chunk_size, self.pid, self.ppid
        h["start_mono_ns"], h["start_real_ns"], h["mode"] = self.start_mono_ns, 1_700_000_000 * 10**9, self.mode
        return h.tobytes()

    def to_bytes(self, unused_chunks=0):
        out = [self.header_bytes()]
        for index, (tid, body) in enumerate(self.chunks):
            ch = np.zeros(1, CHUNK_HEADER_DTYPE)
            ch["magic"], ch["tid"], ch["index"] = CHUNK_MAGIC, tid, index
            raw = ch.tobytes() + bytes(body)
            out.append(raw + b"\0" * (self.chunk_size - len(raw)))
        out.append(b"\0" * (self.chunk_size * unused_chunks))
        return b"".join(out)

    def write(self, path, unused_chunks=0):
        with open(path, "wb") as f:
            f.write(self.to_bytes(unused_chunks))
        return path


def bulk_capture(n_kernels=8, pid=1000, chunk_size=256 * 1024):
    """A process with one device, queue 0x10 and n_kernels kernels, ready for bulk_launches: the set-up of the
    synthetic traces the ingest and report benchmarks build. Returns (builder, kernel handles)."""
    b = CaptureBuilder(pid=pid, chunk_size=chunk_size)
    b.process(["bench"])
    b.device(0xD0)
    b.queue(0x10, device=0xD0)
    handles = [0x100 + i for i in range(n_kernels)]
    for i, h in enumerate(handles):
        b.kernel(h, f"kernel_{i}")
    return b, handles


def simple_capture(pid=4242, launches=3, chunk_size=16384, exit_note=True):
    """A small, complete process: one device, queue, program, kernel, timed launches."""
    b = CaptureBuilder(pid=pid, chunk_size=chunk_size)
    b.process(["./app", "--n", "3"], cwd="/work", env=["POCL_DEBUG=0"])
    b.device(0xD0, "cpu-haswell")
    b.queue(0x10, device=0xD0)
    b.program(0x30, options="-cl-fast-relaxed-math")
    b.kernel(0x20, "conv")
    for i in range(launches):
        s = b.launch(0x10, 0x20, (64, 8), (8, 8))
        b.times(s, 10_000 + i * 1000, 10_500 + i * 1000)
    if exit_note:
        b.exit_note()
    return b
