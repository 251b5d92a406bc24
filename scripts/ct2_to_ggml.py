#!/usr/bin/env python3
"""Convert a CTranslate2 (faster-whisper) Whisper model to whisper.cpp's ggml format.

Usage: ct2_to_ggml.py MODEL.bin CONFIG_DIR WHISPER_ASSETS_DIR OUT.bin

MODEL.bin          CTranslate2 model file (format version 6, WhisperSpec), float16
CONFIG_DIR         unused except for documentation; hparams are read from the tensors
WHISPER_ASSETS_DIR openai-whisper's whisper/assets (mel_filters.npz, multilingual.tiktoken)
OUT.bin            the ggml model for whisper.cpp / whisper-rs

The layout follows whisper.cpp's models/convert-pt-to-ggml.py: magic, hparams, mel filters,
the tiktoken vocabulary, then every tensor under its PyTorch name. CTranslate2 fuses the
self-attention query/key/value projections (and the cross-attention key/value) into one matrix,
with a zero key bias: they are split here, and the key bias (which Whisper does not have) dropped.
Standard library only.
"""

import base64
import struct
import sys
import zipfile

# CTranslate2 data types (ctranslate2/include/ctranslate2/types.h).
DTYPES = {0: ("f", 4), 1: ("b", 1), 2: ("h", 2), 3: ("i", 4), 4: ("e", 2)}
FLOAT16 = 4


def read_ct2(path):
    """Returns {name: (shape, dtype, bytes)} and the aliases."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(n):
        nonlocal pos
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    def u32():
        return struct.unpack("<I", take(4))[0]

    def string():
        n = struct.unpack("<H", take(2))[0]
        return take(n).rstrip(b"\0").decode()

    version = u32()
    if version != 6:
        sys.exit(f"unsupported CTranslate2 model version {version} (expected 6)")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"not a Whisper model: {spec}")
    u32()  # spec revision
    variables = {}
    for _ in range(u32()):
        name = string()
        rank = take(1)[0]
        shape = [u32() for _ in range(rank)]
        dtype = take(1)[0]
        size = u32()
        variables[name] = (shape, dtype, take(size))
    for _ in range(u32()):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def rows(shape, dtype, raw, start, count):
    """Rows [start, start + count) of a 2-D (or 1-D) tensor."""
    width = 1 if len(shape) == 1 else shape[1]
    size = DTYPES[dtype][1]
    return [count] + shape[1:], raw[start * width * size:(start + count) * width * size]


def scalar(variables, name):
    shape, dtype, raw = variables[name]
    code, size = DTYPES[dtype]
    return struct.unpack("<" + code, raw[:size])[0]


def tensors(variables):
    """(PyTorch name, shape, dtype, bytes) for every tensor whisper.cpp loads."""
    out = []

    def add(name, key):
        shape, dtype, raw = variables[key]
        out.append((name, shape, dtype, raw))

    def split(prefix, key, names):
        """A fused projection: equal blocks of rows; None drops a block (the key bias)."""
        for part in ("weight", "bias"):
            shape, dtype, raw = variables[f"{key}/{part}"]
            block = shape[0] // len(names)
            for i, name in enumerate(names):
                if name is None or (part == "bias" and name.endswith("key")):
                    continue
                sub_shape, sub = rows(shape, dtype, raw, i * block, block)
                out.append((f"{prefix}.{name}.{part}", sub_shape, dtype, sub))

    def norm(name, key):
        add(f"{name}.weight", f"{key}/gamma")
        add(f"{name}.bias", f"{key}/beta")

    def linear(name, key):
        add(f"{name}.weight", f"{key}/weight")
        add(f"{name}.bias", f"{key}/bias")

    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    add("encoder.positional_embedding", "encoder/position_encodings/encodings")
    layer = 0
    while f"encoder/layer_{layer}/ffn/linear_0/weight" in variables:
        p, k = f"encoder.blocks.{layer}", f"encoder/layer_{layer}"
        split(f"{p}.attn", f"{k}/self_attention/linear_0", ["query", "key", "value"])
        linear(f"{p}.attn.out", f"{k}/self_attention/linear_1")
        norm(f"{p}.attn_ln", f"{k}/self_attention/layer_norm")
        linear(f"{p}.mlp.0", f"{k}/ffn/linear_0")
        linear(f"{p}.mlp.2", f"{k}/ffn/linear_1")
        norm(f"{p}.mlp_ln", f"{k}/ffn/layer_norm")
        layer += 1
    norm("encoder.ln_post", "encoder/layer_norm")
    add("decoder.token_embedding.weight", "decoder/embeddings/weight")
    add("decoder.positional_embedding", "decoder/position_encodings/encodings")
    layer = 0
    while f"decoder/layer_{layer}/ffn/linear_0/weight" in variables:
        p, k = f"decoder.blocks.{layer}", f"decoder/layer_{layer}"
        split(f"{p}.attn", f"{k}/self_attention/linear_0", ["query", "key", "value"])
        linear(f"{p}.attn.out", f"{k}/self_attention/linear_1")
        norm(f"{p}.attn_ln", f"{k}/self_attention/layer_norm")
        linear(f"{p}.cross_attn.query", f"{k}/attention/linear_0")
        split(f"{p}.cross_attn", f"{k}/attention/linear_1", ["key", "value"])
        linear(f"{p}.cross_attn.out", f"{k}/attention/linear_2")
        norm(f"{p}.cross_attn_ln", f"{k}/attention/layer_norm")
        linear(f"{p}.mlp.0", f"{k}/ffn/linear_0")
        linear(f"{p}.mlp.2", f"{k}/ffn/linear_1")
        norm(f"{p}.mlp_ln", f"{k}/ffn/layer_norm")
        layer += 1
    norm("decoder.ln", "decoder/layer_norm")
    return out


def mel_filters(assets, n_mels):
    with zipfile.ZipFile(f"{assets}/mel_filters.npz") as z:
        npy = z.read(f"mel_{n_mels}.npy")
    header_len = struct.unpack("<H", npy[8:10])[0]
    header = npy[10:10 + header_len].decode()
    if "'<f4'" not in header:
        sys.exit(f"unexpected mel filter type: {header}")
    shape = tuple(int(x) for x in header.split("(")[1].split(")")[0].split(",") if x.strip())
    return shape, npy[10 + header_len:]


def to_f32(dtype, raw):
    code, size = DTYPES[dtype]
    count = len(raw) // size
    values = struct.unpack(f"<{count}{code}", raw)
    return struct.pack(f"<{count}f", *values)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    model, _config, assets, out_path = sys.argv[1:]
    variables = read_ct2(model)
    n_vocab, n_text_state = variables["decoder/embeddings/weight"][0]
    n_audio_ctx, n_audio_state = variables["encoder/position_encodings/encodings"][0]
    n_text_ctx = variables["decoder/position_encodings/encodings"][0][0]
    n_mels = variables["encoder/conv1/weight"][0][1]
    n_audio_layer = sum(1 for k in variables if k.startswith("encoder/layer_") and k.endswith("ffn/linear_0/weight"))
    n_text_layer = sum(1 for k in variables if k.startswith("decoder/layer_") and k.endswith("ffn/linear_0/weight"))
    n_audio_head = scalar(variables, "encoder/num_heads")
    n_text_head = scalar(variables, "decoder/num_heads")
    hparams = [n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
               n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, 1]
    (mel_rows, mel_cols), mel = mel_filters(assets, n_mels)
    with open(f"{assets}/multilingual.tiktoken", "rb") as f:
        tokens = [base64.b64decode(line.split()[0]) for line in f.read().splitlines() if line]
    listed = tensors(variables)
    with open(out_path, "wb") as out:
        out.write(struct.pack("<i", 0x67676D6C))
        out.write(struct.pack("<11i", *hparams))
        out.write(struct.pack("<ii", mel_rows, mel_cols))
        out.write(mel)
        out.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            out.write(struct.pack("<i", len(token)))
            out.write(token)
        for name, shape, dtype, raw in listed:
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                shape = [shape[0], 1]
            small = len(shape) < 2 or name in (
                "encoder.conv1.bias", "encoder.conv2.bias",
                "encoder.positional_embedding", "decoder.positional_embedding")
            if small or dtype != FLOAT16:
                raw, ftype = to_f32(dtype, raw), 0
            else:
                ftype = 1
            encoded = name.encode()
            out.write(struct.pack("<iii", len(shape), len(encoded), ftype))
            for dim in reversed(shape):
                out.write(struct.pack("<i", dim))
            out.write(encoded)
            out.write(raw)
    print(f"{out_path}: {len(listed)} tensors, {n_audio_layer}+{n_text_layer} layers, vocabulary {len(tokens)}")


if __name__ == "__main__":
    main()
