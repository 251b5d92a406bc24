//! `asr` and `eval`: speech input, measured.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hotline::config::Settings;
use hotline::ivr::CallState;

use super::load_flow;

/// The configured Whisper model, with one recognition at a time (a command, not the service).
fn load_recogniser(settings: &Settings) -> anyhow::Result<hotline::asr::Recogniser> {
    use hotline::asr::{Pool, Recogniser};
    let w = &settings.whisper;
    anyhow::ensure!(
        !w.model.is_empty(),
        "no Whisper model configured (HOTLINE_WHISPER_MODEL)"
    );
    let pool = Pool {
        workers: 1,
        ..Pool::from_settings(w)
    };
    Recogniser::load(Path::new(&w.model), pool).context("loading the Whisper model (scripts/whisper-model obtains it)")
}

pub fn asr(settings: &Settings, menu: Option<&str>, files: &[PathBuf]) -> anyhow::Result<()> {
    use hotline::asr::intent::Thresholds;
    use hotline::measure::batch;
    let w = &settings.whisper;
    let recogniser = load_recogniser(settings)?;
    let choices = match menu {
        Some(node) => {
            let (flow, _) = load_flow(settings)?;
            anyhow::ensure!(flow.nodes.contains_key(node), "the flow has no node {node}");
            let at = CallState {
                node: node.to_owned(),
                ..CallState::default()
            };
            let choices = hotline::ivr::listen::choices(&flow, &at);
            Some(choices.with_context(|| format!("node {node} takes no spoken choice"))?)
        }
        None => None,
    };
    for file in files {
        let result = batch::recognise_file(
            &recogniser,
            choices.as_deref(),
            Thresholds::from_settings(w),
            w.max_recording_secs,
            file,
        )?;
        println!("{}", serde_json::to_string(&result)?);
    }
    Ok(())
}

pub fn eval_text(settings: &Settings, dir: &Path, misses: bool) -> anyhow::Result<()> {
    use hotline::asr::intent::Thresholds;
    use hotline::measure::eval::{judge_text, Report};
    use hotline::measure::inventory::{self, Split};
    let (flow, _) = load_flow(settings)?;
    let cases = inventory::load(dir, &flow, true)?;
    let thresholds = Thresholds::from_settings(&settings.whisper);
    let mut report = Report::default();
    for case in &cases {
        let verdict = judge_text(&flow, case, &thresholds);
        report.add(case, &verdict, &[]);
        if misses && case.split == Split::Dev && !verdict.right {
            println!(
                "miss\t{}\t{}\t{}\t{:?} {:?} {:.2}",
                case.node, case.label, case.phrase, verdict.outcome, verdict.chosen, verdict.confidence
            );
        }
    }
    print!("{}", report.markdown());
    Ok(())
}

/// `hotline eval --clips`: the renderings recognised, judged as the IVR acts on them.
pub fn eval_clips(settings: &Settings, dir: &Path, clips: &Path, misses: bool) -> anyhow::Result<()> {
    use hotline::asr::intent::Thresholds;
    use hotline::asr::{audio, Mode};
    use hotline::measure::cer::{CerReport, Errors};
    use hotline::measure::eval::{case_of, judge, read_clips, Report, DESCRIPTIONS};
    use hotline::measure::inventory::{self, Split};
    let (flow, _) = load_flow(settings)?;
    let cases = inventory::load(dir, &flow, false)?;
    let w = &settings.whisper;
    let recogniser = load_recogniser(settings)?;
    let thresholds = Thresholds::from_settings(w);
    let mut report = Report::default();
    let mut cer = CerReport::default();
    let (mut ms, mut free_ms) = (Vec::new(), Vec::new());
    for clip in read_clips(clips)? {
        let extra = [
            ("engine", clip.engine.as_str()),
            ("rate", clip.rate.as_str()),
            ("noise", clip.noise.as_str()),
        ];
        if clip.node == DESCRIPTIONS {
            let bytes = std::fs::read(&clip.file).with_context(|| clip.file.display().to_string())?;
            let samples = audio::wav_to_16k(&bytes, w.max_recording_secs)?;
            let t = recogniser.recognise_blocking(&samples, &Mode::Free)?;
            free_ms.push(t.ms);
            let split = if clip.split == Split::Dev.as_str() {
                Split::Dev
            } else {
                Split::Heldout
            };
            let errors = Errors::of(&clip.phrase, &t.text);
            cer.add(split, errors, &extra);
            if misses && split == Split::Dev && errors.errors > 0 {
                println!("cer\t{}\t{}\t{}\t{}", errors.errors, clip.phrase, t.text, clip.engine);
            }
            continue;
        }
        let case = case_of(&cases, &clip).with_context(|| format!("{}: not in the inventory", clip.file.display()))?;
        let choices = hotline::ivr::listen::choices(&flow, &case.state).context("a node that listens")?;
        let mode = Mode::Menu {
            words: hotline::ivr::listen::prompt_words(&choices),
            choices,
        };
        let bytes = std::fs::read(&clip.file).with_context(|| clip.file.display().to_string())?;
        // The provider's recording stops at the listening window: a longer answer is cut.
        let mut samples = audio::wav_to_16k(&bytes, w.max_recording_secs)?;
        samples.truncate(w.menu_window_secs as usize * audio::RATE as usize);
        let t = recogniser.recognise_blocking(&samples, &mode)?;
        ms.push(t.ms);
        let verdict = judge(&case.expect, t.heard.as_ref(), &thresholds);
        let noise = format!("{} {}", clip.engine, clip.noise);
        let extra = [&extra[..], &[("engine, noise", noise.as_str())]].concat();
        report.add(case, &verdict, &extra);
        if misses && case.split == Split::Dev && !verdict.right {
            println!(
                "miss\t{}\t{}\t{}\t{}\t{:?} {:?} {:.2}\t{}",
                case.node,
                case.label,
                case.phrase,
                t.text,
                verdict.outcome,
                verdict.chosen,
                verdict.confidence,
                clip.engine
            );
        }
    }
    if !ms.is_empty() {
        println!("{}\n", latency("menu answers", &mut ms));
        print!("{}", report.markdown());
    }
    if !free_ms.is_empty() {
        println!("\n{}\n", latency("descriptions", &mut free_ms));
        print!("{}", cer.markdown());
    }
    Ok(())
}

/// "N what; recognition p50 …, p95 …, max …".
fn latency(what: &str, ms: &mut [u64]) -> String {
    ms.sort_unstable();
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    format!(
        "{} {what}; recognition p50 {} ms, p95 {} ms, max {} ms",
        ms.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    )
}
