#!/usr/bin/env python3
"""Quantises a whisper.cpp ggml model (f16) to q8_0, as whisper.cpp's own `quantize` tool does.

Usage: ggml_q8_0.py IN.bin OUT.bin

Every 2-D f16 weight matrix (the encoder's and decoder's linear layers and the token embedding)
becomes q8_0: blocks of 32 values stored as an f16 scale and 32 signed bytes (ggml's
quantize_row_q8_0_ref: scale = max|x| / 127, q = round(x / scale), halves away from zero).
Convolution kernels, biases, norms and positional embeddings stay as they are. The header's
ftype becomes 7 (mostly q8_0) with quantisation version 2. The model is about half the size and,
on CPUs with int8 matrix units, recognises markedly faster (measured in docs/speech-input.md).
Standard library only, like scripts/ct2_to_ggml.py.
"""

import math
import struct
import sys

GGML_MAGIC = 0x67676D6C
F32, F16, Q8_0 = 0, 1, 8
FTYPE_Q8_0 = 7
QNT_VERSION = 2
QNT_VERSION_FACTOR = 1000
BLOCK = 32
# whisper.cpp's quantize tool leaves these alone whatever their shape.
KEEP = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}


def quantise_q8_0(raw):
    """f16 little-endian values (a multiple of 32) -> q8_0 blocks."""
    values = struct.unpack(f"<{len(raw) // 2}e", raw)
    out = bytearray()
    pack_scale = struct.Struct("<e").pack
    floor = math.floor
    for start in range(0, len(values), BLOCK):
        block = values[start : start + BLOCK]
        amax = max(max(block), -min(block))
        scale = amax / 127.0
        inverse = 1.0 / scale if scale else 0.0
        out += pack_scale(scale)
        out += bytes(
            (floor(v * inverse + 0.5) if v >= 0 else -floor(-v * inverse + 0.5)) & 0xFF for v in block
        )
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f, open(dst, "wb") as out:
        magic, = struct.unpack("<I", f.read(4))
        if magic != GGML_MAGIC:
            sys.exit(f"{src}: not a ggml model")
        hparams = list(struct.unpack("<11i", f.read(44)))
        if hparams[10] % QNT_VERSION_FACTOR != F16:
            sys.exit(f"{src}: ftype {hparams[10]}, expected 1 (f16)")
        hparams[10] = QNT_VERSION * QNT_VERSION_FACTOR + FTYPE_Q8_0
        out.write(struct.pack("<I", magic))
        out.write(struct.pack("<11i", *hparams))
        # Mel filters (rows, cols, f32 values), then the vocabulary: copied as they are.
        rows, cols = struct.unpack("<ii", f.read(8))
        out.write(struct.pack("<ii", rows, cols))
        out.write(f.read(4 * rows * cols))
        n_vocab, = struct.unpack("<i", f.read(4))
        out.write(struct.pack("<i", n_vocab))
        for _ in range(n_vocab):
            n, = struct.unpack("<i", f.read(4))
            out.write(struct.pack("<i", n))
            out.write(f.read(n))
        quantised = 0
        while header := f.read(12):
            n_dims, name_len, ttype = struct.unpack("<iii", header)
            dims = struct.unpack(f"<{n_dims}i", f.read(4 * n_dims))
            name = f.read(name_len)
            count = math.prod(dims)
            raw = f.read(count * (4 if ttype == F32 else 2))
            if n_dims == 2 and ttype == F16 and dims[0] % BLOCK == 0 and name.decode() not in KEEP:
                ttype, raw = Q8_0, quantise_q8_0(raw)
                quantised += 1
            out.write(struct.pack("<iii", n_dims, name_len, ttype))
            out.write(struct.pack(f"<{n_dims}i", *dims))
            out.write(name)
            out.write(raw)
    print(f"{dst}: {quantised} weight matrices as q8_0", file=sys.stderr)


if __name__ == "__main__":
    main()
