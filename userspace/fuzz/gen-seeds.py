#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made seed corpus: corpus/fuzz_api/* and corpus/fuzz_frame/*.

The input formats are described at the top of fuzz_api.c and fuzz_frame.c.
Run from userspace/fuzz; rewrites the seed files it names, leaves others."""
import os
import struct


def crc32c(data):
    c = 0xffffffff
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff


def record(seq, payload, stream=7, flags=0, magic=0x31525348):
    h = struct.pack('<IIIIQI', magic, len(payload), stream, flags, seq,
                    crc32c(payload))
    return h + struct.pack('<I', crc32c(h)) + payload


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(bytes(data))


# ---- fuzz_frame: b0 (buf size / max_record), mode, 2 seed bytes, body ----
F = 'corpus/fuzz_frame'
def desc(ctl, length, fill):
    return bytes([ctl, length & 0xff, length >> 8, fill])

# structured, 4096-byte buffers, max_record 4064, whole pieces
write(F, 'valid3', bytes([0x82, 0x00, 1, 2]) + desc(0, 100, 1) +
      desc(0, 1000, 2) + desc(0, 3000, 3))
# the same in random pieces, buffers released between wakeups
write(F, 'valid3-pieces', bytes([0x82, 0x06, 9, 9]) + desc(0, 100, 1) +
      desc(0, 1000, 2) + desc(0, 3000, 3) + desc(0, 0, 4))
# byte-at-a-time into 1000-byte buffers: headers cut and carried over
write(F, 'relocate-bytes', bytes([0x81, 0x01, 3, 4]) +
      b''.join(desc(0, n, n & 0xff) for n in (900, 500, 950, 10, 968, 0, 33)))
# one defect each: payload CRC, flags, seq, stream, header CRC, magic,
# length above max_record, and a truncated last record
for name, ctl in (('bad-crc', 0x21), ('bad-flags', 0x41), ('bad-seq', 0x61),
                  ('bad-stream', 0x81), ('bad-hcrc', 0xa1), ('bad-magic', 0xc1),
                  ('too-long', 0xe1), ('truncated', 0x1e)):
    write(F, name, bytes([0x02, 0x02, 5, 6]) + desc(0, 200, 1) +
          desc(0, 300, 2) + desc(ctl, 400, 3))
# tiny buffers (64 + n bytes): barely one header
write(F, 'tiny-buf', bytes([0x06 | (4 << 3), 0x02, 7, 7]) +
      b''.join(desc(0, n, 5) for n in range(0, 40, 3)))
# raw stream: two sealed records, then garbage
raw = record(1, b'hello') + record(2, bytes(range(200))) + b'\x00' * 8
write(F, 'raw-valid', bytes([0x82, 0x80, 0, 1]) + raw)
write(F, 'raw-pieces', bytes([0x83, 0x82, 7, 1]) + raw[:-8])
write(F, 'raw-len-max', bytes([0x81, 0x80, 0, 1]) +
      record(1, b'x' * 968) + record(2, b'y' * 969))

# ---- fuzz_api: opcode (byte % 13) then operands; see fuzz_api.c ----
A = 'corpus/fuzz_api'
GET, BULK, PUT, REF, BADPUT, WRONG, PBULK, VIEW, TAG, STATS, CREATE = \
    0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12
def u32(v):
    return list(struct.pack('<I', v & 0xffffffff))
def u16(v):
    return list(struct.pack('<H', v))

write(A, 'get-put', [GET, 0, 0, GET, 1, 0, PUT, 0, PUT, 0, STATS, 0, 0, 0, 0, 0])
write(A, 'exhaust', [BULK, 0, 64, GET, 0, 0, GET, 0, 1, STATS, 0, 3, 0, 1, 0])
write(A, 'double-put', [GET, 0, 0, PUT, 0, BADPUT, 0, 0, 0, 0, BADPUT, 1, 2, 5, 0, 0])
write(A, 'wild-put', [GET, 1, 0, BADPUT, 0, 1] + u32(4097) + [1, BADPUT, 1, 4, 3, 0,
      BADPUT, 0, 5] + [0xff] * 8 + [0, BADPUT, 0, 3, 0])
write(A, 'wrong-pool', [GET, 0, 0, GET, 1, 0, WRONG, 0, WRONG, 1, PBULK, 0, 3, 0, 0, 0, 0, 4, 7])
write(A, 'refs', [GET, 0, 0, REF, 0, REF, 0, PUT, 0, STATS, 0, 0, 0, 0, 0, PUT, 0, PUT, 0])
write(A, 'view', [GET, 0, 0, VIEW, 0] + u32(100) + u32(200) + [1] + u32(50) +
      u32(1000) + u32(10) + u32(20) + [0])
write(A, 'view-headroom', [GET, 1, 0, VIEW, 0] + u32(4096) + u32(8192) + [1] +
      u32(0) + u32(4096) + u32(0) + u32(12288) + [1])
write(A, 'tags', [TAG, 3, 4] + list(b'rxtx') + [0, GET, 0, 0, TAG, 0x80] + u32(1 << 31) +
      [0, 1, STATS, 0, 0, 0, 0, 1])
write(A, 'create-valid', [CREATE, 0x80] + u32(3 << 20) + [0] + u32(4000) + [0] +
      u32(100) + [0xff, 0] + u16(8) + [0, 0] + u16(0o640) + [0, 0, 4] + list(b'abcd') +
      [3, 1])
write(A, 'create-bad', [CREATE, 7, 1] + u32(0xffffffff) + [1] + u32(0xffffffff) +
      [0xfe, 1] + u32(1 << 20) + [1] + u32(1 << 30) + u16(0o7777) + [1, 0x42, 3] +
      list(b'a/b'))
write(A, 'create-busy', [CREATE, 4, 0] + u32(512) + [0] + u32(0) + [0xff, 0] + u16(0) +
      [0, 0] + u16(0) + [0, 0, 0, 3, 1])

# ---- fuzz_verify: mode byte (bit 0: built), split/unused byte, body ----
V = 'corpus/fuzz_verify'
def vdesc(ctl, ln, fill, defect, arg):
    return bytes([ctl, ln & 0xff, ln >> 8, fill, defect, arg & 0xff,
                  (arg >> 8) & 0xff, arg >> 16])

write(V, 'valid', bytes([1, 0]) + vdesc(0, 100, 1, 0, 0) +
      vdesc(1, 5000, 2, 0, 0) + vdesc(2, 0, 3, 0, 0))
write(V, 'bad-payload', bytes([1, 0]) + vdesc(0, 300, 1, 0, 0) +
      vdesc(0, 200, 2, 5, 77))
write(V, 'bad-seq', bytes([1, 0]) + vdesc(0, 10, 1, 6, 2) + vdesc(0, 10, 2, 0, 0))
write(V, 'bad-ecrc', bytes([1, 0]) + vdesc(0, 10, 1, 0, 0) + vdesc(0, 10, 2, 0x10, 0))
write(V, 'past-eof', bytes([1, 0]) + vdesc(0, 10, 1, 3, 0x100) + vdesc(0, 10, 2, 9, 60))
write(V, 'torn', bytes([1, 0]) + vdesc(0, 10, 1, 0, 0) + vdesc(0, 10, 2, 0, 0) + bytes([7]))
# raw: a sealed index header + one entry and a data file
ih = struct.pack('<IIIIQ5Q', 0x31584948, 1, 40, 4096, 0, 0, 0, 0, 0, 0)
rec = record(1, b'raw' * 10, stream=3)
ent = struct.pack('<IIQQIII', 0x45584948, 3, 0, 1, 30, crc32c(b'raw' * 10), 0)
ent += struct.pack('<I', crc32c(ent))
write(V, 'raw', bytes([0, (len(ih) + len(ent)) // 16]) + ih + ent + rec)
write(V, 'raw-not-index', bytes([0, 2]) + b'\x00' * 40)
