//! Speech input on this machine: the latency of a spoken menu turn (WAV bytes → 16 kHz →
//! recognised → matched to the main menu) with the tuned settings, beside whisper-rs with its
//! default settings on the same clips in the same run; the real-time factor of free speech; the
//! process's peak RSS. Clips: the shipped phone-band set of spoken menu answers
//! (tests/data/menu-speech/, 8 kHz µ-law), and ../shared/data/asr-real when present.
//!
//! Run: `cargo bench --bench asr` (needs data/models/ggml-base-q8_0.bin or HOTLINE_WHISPER_MODEL).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hotline::asr::{audio, Mode, Pool, Recogniser};
use hotline::ivr::listen::{choices, prompt_words};
use hotline::ivr::{CallState, Flow};
use hotline::prompts::Prompts;

fn main() {
    let model = std::env::var("HOTLINE_WHISPER_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("data/models/ggml-base-q8_0.bin"));
    if !model.is_file() {
        println!("no Whisper model at {}: run scripts/whisper-model", model.display());
        return;
    }
    let started = Instant::now();
    let pool = Pool::from_settings(&hotline::config::Settings::defaults().whisper);
    let r = Recogniser::load(&model, pool).expect("model loads");
    println!("model load: {} ms", started.elapsed().as_millis());

    let flow = Flow::main(&Prompts::zh_cn());
    let at = CallState {
        node: "main".into(),
        ..CallState::default()
    };
    let choices = choices(&flow, &at).expect("main takes speech");
    let menu = Mode::Menu {
        words: prompt_words(&choices),
        choices: choices.clone(),
    };
    let clips = menu_clips();
    let (mut tuned, mut default) = (Vec::new(), Vec::new());
    // Turns whose transcript matched no option surely, so the options were scored on the audio.
    let mut scored = 0;
    for wav in &clips {
        let t0 = Instant::now();
        let samples = audio::wav_to_16k(wav, 30).unwrap();
        let heard = r.recognise_blocking(&samples, &menu).unwrap().heard;
        scored += usize::from(heard.is_some_and(|h| h.scored));
        tuned.push(t0.elapsed());
        let t0 = Instant::now();
        let samples = audio::wav_to_16k(wav, 30).unwrap();
        r.recognise_blocking(&samples, &Mode::Default).unwrap();
        default.push(t0.elapsed());
    }
    println!("menu turn, {} phone-band clips:", clips.len());
    report("  tuned (audio_ctx, prompt, 1 segment)", &mut tuned);
    println!("  of which the options were scored on the audio: {scored}");
    report("  whisper-rs defaults (language zh)", &mut default);

    let real = PathBuf::from("../shared/data/asr-real");
    let free: Vec<PathBuf> = std::fs::read_dir(&real)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wav"))
                .collect()
        })
        .unwrap_or_default();
    if free.is_empty() {
        println!("free speech: ../shared/data/asr-real absent, skipped");
    }
    for mode in [Mode::Free, Mode::Default] {
        let (mut audio_secs, mut secs) = (0.0, 0.0);
        for path in &free {
            let samples = audio::wav_to_16k(&std::fs::read(path).unwrap(), 60).unwrap();
            let t0 = Instant::now();
            let t = r.recognise_blocking(&samples, &mode).unwrap();
            secs += t0.elapsed().as_secs_f64();
            audio_secs += f64::from(t.audio_secs);
        }
        if !free.is_empty() {
            println!(
                "free speech {mode:?}: {} clips, {audio_secs:.1} s of audio in {secs:.1} s, RTF {:.2}",
                free.len(),
                secs / audio_secs
            );
        }
    }
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
}

fn menu_clips() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new("tests/data/menu-speech");
    let labels = std::fs::read_to_string(dir.join("labels.tsv")).expect("the shipped set");
    labels
        .lines()
        .skip(1)
        .map(|line| std::fs::read(dir.join(line.split('\t').next().unwrap())).unwrap())
        .collect()
}

fn report(label: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_millis();
    println!("{label}: p50 {} ms, p95 {} ms, max {} ms", at(0.5), at(0.95), at(1.0));
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
