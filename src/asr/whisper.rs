//! whisper.cpp through whisper-rs: one model loaded once and shared, recognition on
//! `whisper.workers` long-lived threads of its own, tuned separately for short menu answers and
//! for free speech.
//!
//! A recognition holds its worker slot until whisper.cpp has really stopped, and stops as soon
//! as nobody waits for it any more (the turn's time ran out) or the service is stopping:
//! whisper.cpp's abort callback is asked between the steps of every graph it computes. So an
//! overload cannot pile up abandoned recognitions (each with its own whisper state, some
//! hundred MB) and threads, and a shutdown is not held up by them.

use std::ffi::c_void;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

use super::audio::{peak_rms, trim_silence, RATE};
use super::digits::said;
use super::intent::{best, closest_words, Choice, Heard};
use super::text::normalise;
use super::AsrError;

/// Tokens a menu answer may take: a few words. Caps the loops a short audio context can cause.
const MENU_TOKENS: i32 = 16;
/// Encoder positions per second of audio (1500 for whisper's 30 s window).
const CTX_PER_SEC: f32 = 50.0;
/// Positions added to the clip's own, and the fewest used.
const CTX_MARGIN: i32 = 64;
const CTX_MIN: i32 = 256;
/// Below this level a clip is silence and is not recognised at all.
const SILENCE_RMS: f32 = 0.005;
/// A transcript matched less surely than this (the default `whisper.accept`) is checked by
/// scoring every option's words against the audio.
const SCORE_BELOW: f32 = 0.8;
/// The confidence of a choice the unprimed hypothesis disagrees with (asked back, not taken).
const DISAGREED: f32 = 0.6;
/// How many of the options' words are scored against the audio.
const SCORED_WORDS: usize = 8;

/// How to recognise a clip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Mode {
    /// A menu answer: the menu's words as the initial prompt; one short segment; matched to
    /// the menu's options.
    Menu { words: String, choices: Vec<Choice> },
    /// A spoken description: every segment, in simplified Chinese.
    Free,
    /// whisper-rs with its default settings (language set): the baseline of the benchmark.
    Default,
}

/// What was recognised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Simplified Chinese, normalised punctuation; empty when nothing was said.
    pub text: String,
    /// Recognition time (decoding and resampling excluded).
    pub ms: u64,
    /// Seconds of audio recognised.
    pub audio_secs: f32,
    /// A menu answer: the option meant, if any (see [`Recogniser::hear`]).
    #[serde(default)]
    pub heard: Option<Heard>,
}

/// How recognition runs.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Recognitions at once.
    pub workers: usize,
    /// Threads each.
    pub threads: usize,
    /// How long a menu answer waits for a free worker.
    pub queue_wait: Duration,
    /// Threads of the one recognition thread that transcribes descriptions in the background,
    /// beside the menu answers' workers (so a caller's answer never waits for a transcript).
    pub transcript_threads: usize,
    /// The initial prompt of a description's transcript: the hotline's domain, so that its
    /// words come out as words (工伤认定, not 工商院定).
    pub describe_prompt: String,
}

impl Pool {
    pub fn from_settings(w: &crate::config::WhisperSettings) -> Self {
        Self {
            workers: w.workers,
            threads: w.threads,
            queue_wait: Duration::from_millis(w.queue_wait_ms),
            transcript_threads: w.transcript_threads,
            describe_prompt: w.describe_prompt.clone(),
        }
    }
}

/// The shared model. Cheap to clone.
#[derive(Clone)]
pub struct Recogniser {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: WhisperContext,
    /// Menu answers: a caller waits on the line.
    answers: Lane,
    /// Transcripts of descriptions, in the background.
    transcripts: Lane,
    queue_wait: Duration,
    describe_prompt: String,
    /// Set by [`Recogniser::stop`]: every recognition ends at its next check.
    stopping: AtomicBool,
}

/// Recognition threads of their own, long-lived (so memory the allocator keeps after a
/// recognition is reused by the next, not left behind with a thread), and their slots.
struct Lane {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    threads: i32,
}

impl Lane {
    fn close(&self) {
        self.permits.close();
    }
}

/// How long a transcript may wait for its worker.
const TRANSCRIPT_WAIT: Duration = Duration::from_secs(600);

/// One recognition for a recognition thread; the slot (`permit`) is held until it ends.
struct Job {
    samples: Vec<f32>,
    mode: Mode,
    threads: i32,
    abandoned: Arc<AtomicBool>,
    permit: OwnedSemaphorePermit,
    reply: oneshot::Sender<Result<Transcript, AsrError>>,
}

/// A recognition thread: takes jobs until every handle to the model is gone.
fn recognition_thread(inner: Weak<Inner>, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let job = match jobs.lock().map(|rx| rx.recv()) {
            Ok(Ok(job)) => job,
            _ => return,
        };
        let Some(inner) = inner.upgrade() else { return };
        let this = Recogniser { inner };
        let result = this.recognise_inner(&job.samples, &job.mode, &job.abandoned, job.threads);
        drop(this);
        drop(job.permit);
        let _ = job.reply.send(result);
    }
}

/// Why a recognition should end early: nobody waits for it, or the service is stopping.
struct Abort<'a> {
    abandoned: &'a AtomicBool,
    stopping: &'a AtomicBool,
}

impl Abort<'_> {
    fn now(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed) || self.stopping.load(Ordering::Relaxed)
    }
}

/// whisper.cpp's abort callback; `data` is an [`Abort`] that outlives the `full` call.
unsafe extern "C" fn should_abort(data: *mut c_void) -> bool {
    // SAFETY: `data` points at the `Abort` on the stack of `recognise_inner`, which calls
    // `full` (the only user of the callback) while it lives.
    let abort = unsafe { &*(data as *const Abort<'_>) };
    abort.now()
}

/// Marks its recognition abandoned when the future awaiting it is dropped (a timeout).
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Recogniser {
    /// Loads the ggml model at `path` (about 0.2 s for base).
    pub fn load(path: &Path, pool: Pool) -> Result<Self, AsrError> {
        if !path.is_file() {
            return Err(AsrError::NoModel(format!("{} does not exist", path.display())));
        }
        install_log_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| AsrError::NoModel(format!("{}: {e}", path.display())))?;
        let workers = pool.workers.max(1);
        let (answer_jobs, answer_queue) = mpsc::channel();
        let (transcript_jobs, transcript_queue) = mpsc::channel();
        let inner = Arc::new(Inner {
            ctx,
            answers: Lane {
                permits: Arc::new(Semaphore::new(workers)),
                jobs: answer_jobs,
                threads: pool.threads.max(1) as i32,
            },
            transcripts: Lane {
                permits: Arc::new(Semaphore::new(1)),
                jobs: transcript_jobs,
                threads: pool.transcript_threads.max(1) as i32,
            },
            queue_wait: pool.queue_wait,
            describe_prompt: pool.describe_prompt,
            stopping: AtomicBool::new(false),
        });
        let answer_queue = Arc::new(Mutex::new(answer_queue));
        let transcript_queue = Arc::new(Mutex::new(transcript_queue));
        let threads = (0..workers)
            .map(|i| (format!("whisper-{i}"), answer_queue.clone()))
            .chain(std::iter::once(("whisper-bg".to_owned(), transcript_queue)));
        for (name, queue) in threads {
            let inner = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name(name)
                .spawn(move || recognition_thread(inner, queue))
                .map_err(|e| AsrError::Whisper(format!("no recognition thread: {e}")))?;
        }
        Ok(Self { inner })
    }

    /// Recognises off the async runtime. A menu answer (a caller waits on the line) waits at
    /// most the configured queue time for a free worker, then gives up with [`AsrError::Busy`]
    /// so the call can go on by keys; transcripts run on a recognition thread of their own, so
    /// an answer never waits for one. Dropping the returned future (a timeout) stops the
    /// recognition; its worker slot is free again only once whisper.cpp has stopped.
    pub async fn recognise(&self, samples: Vec<f32>, mode: Mode) -> Result<Transcript, AsrError> {
        if self.is_stopping() {
            return Err(AsrError::Cancelled);
        }
        let (lane, wait) = match mode {
            Mode::Menu { .. } => (&self.inner.answers, self.inner.queue_wait),
            Mode::Free | Mode::Default => (&self.inner.transcripts, TRANSCRIPT_WAIT),
        };
        let permit = tokio::time::timeout(wait, lane.permits.clone().acquire_owned())
            .await
            .map_err(|_| AsrError::Busy)?
            .map_err(|_| AsrError::Busy)?;
        let abandoned = Arc::new(AtomicBool::new(false));
        let _abandon = AbandonOnDrop(abandoned.clone());
        let (reply, answer) = oneshot::channel();
        lane.jobs
            .send(Job {
                samples,
                mode,
                threads: lane.threads,
                abandoned,
                permit,
                reply,
            })
            .map_err(|_| AsrError::Cancelled)?;
        answer.await.map_err(|_| AsrError::Cancelled)?
    }

    /// Stops every recognition running or waiting (the service is shutting down).
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        self.inner.answers.close();
        self.inner.transcripts.close();
    }

    fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Relaxed)
    }

    /// Recognises on the calling thread (the CLI and the benchmarks).
    pub fn recognise_blocking(&self, samples: &[f32], mode: &Mode) -> Result<Transcript, AsrError> {
        self.recognise_inner(samples, mode, &AtomicBool::new(false), self.inner.answers.threads)
    }

    fn recognise_inner(
        &self,
        samples: &[f32],
        mode: &Mode,
        abandoned: &AtomicBool,
        threads: i32,
    ) -> Result<Transcript, AsrError> {
        let clip = match mode {
            Mode::Menu { .. } => trim_silence(samples),
            Mode::Free | Mode::Default => samples,
        };
        let audio_secs = clip.len() as f32 / RATE as f32;
        if peak_rms(clip) < SILENCE_RMS {
            return Ok(Transcript {
                text: String::new(),
                ms: 0,
                audio_secs,
                heard: None,
            });
        }
        // Whisper needs at least a second; pad short clips with silence.
        let mut padded;
        let clip = if clip.len() < RATE as usize {
            padded = clip.to_vec();
            padded.resize(RATE as usize + RATE as usize / 4, 0.0);
            &padded[..]
        } else {
            clip
        };
        // A fresh state per clip: a reused one carries decoder state from the clip before
        // (measured: the same clips in another order were recognised differently).
        let mut state = self
            .inner
            .ctx
            .create_state()
            .map_err(|e| AsrError::Whisper(e.to_string()))?;
        let started = Instant::now();
        let abort = Abort {
            abandoned,
            stopping: &self.inner.stopping,
        };
        let mut params = self.params(mode, clip.len(), threads);
        // SAFETY: `abort` lives until the end of this function, past `full`.
        unsafe {
            params.set_abort_callback(Some(should_abort));
            params.set_abort_callback_user_data(&abort as *const Abort<'_> as *mut c_void);
        }
        let done = state.full(params, clip);
        if abort.now() {
            return Err(AsrError::Cancelled);
        }
        done.map_err(|e| AsrError::Whisper(e.to_string()))?;
        let raw: String = state
            .as_iter()
            .map(|segment| segment.to_str_lossy().map(|s| s.into_owned()).unwrap_or_default())
            .collect();
        let text = normalise(&raw);
        let heard = match mode {
            Mode::Menu { choices, .. } if !text.is_empty() => self.hear(&mut state, &text, choices, &abort)?,
            _ => None,
        };
        let ms = started.elapsed().as_millis() as u64;
        Ok(Transcript {
            text,
            ms,
            audio_secs,
            heard,
        })
    }

    /// The option a menu answer meant. The transcript is matched by sound first
    /// ([`best`]); when that is not sure (a one- or two-syllable answer Whisper wrote as another
    /// word: 人工 → 进攻, 设置 → 谢谢), the options' words are scored against the audio itself
    /// and the option whose words the model finds most likely wins, with the softmax of the
    /// options' best scores as its confidence (and `scored` set: see [`Heard::sure`]).
    fn hear(
        &self,
        state: &mut WhisperState,
        text: &str,
        choices: &[Choice],
        abort: &Abort<'_>,
    ) -> Result<Option<Heard>, AsrError> {
        let matched = best(text, choices);
        if matched.as_ref().is_some_and(|h| h.confidence >= SCORE_BELOW) {
            return self.second_opinion(state, matched, choices, abort);
        }
        // Each word costs a decoder call per token: only those that sound closest to the
        // transcript are scored, the shortest word of every other option, and every key as said.
        let keys: Vec<(usize, String)> = choices
            .iter()
            .enumerate()
            .filter_map(|(i, c)| said(&c.key).map(|form| (i, form)))
            .collect();
        let mut phrases = closest_words(text, choices, SCORED_WORDS);
        phrases.extend(keys.iter().map(|(i, form)| (*i, form.as_str())));
        let scores = self.phrase_scores(state, &phrases.iter().map(|(_, p)| *p).collect::<Vec<_>>(), abort)?;
        let mut per_choice = vec![f32::NEG_INFINITY; choices.len()];
        for ((i, _), score) in phrases.iter().zip(scores) {
            per_choice[*i] = per_choice[*i].max(score);
        }
        let Some((top, top_score)) = per_choice
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            return Ok(matched);
        };
        let total: f32 = per_choice.iter().map(|s| (s - top_score).exp()).sum();
        let scored = Some(Heard {
            key: choices[top].key.clone(),
            intent: choices[top].intent.clone(),
            confidence: 1.0 / total,
            scored: true,
        });
        if 1.0 / total >= SCORE_BELOW {
            return self.second_opinion(state, scored, choices, abort);
        }
        Ok(scored)
    }

    /// A choice about to be taken, checked against what the model hears without the options'
    /// words in its prompt (an unconstrained hypothesis over the same encoder output). A primed
    /// model writes the menu's words into speech that did not say them ("我想咨询一下" as
    /// 法律人工); unprimed, it writes what it hears. When the two disagree, the choice is asked
    /// back instead of taken: the unprimed one if it is clear, else the primed one.
    fn second_opinion(
        &self,
        state: &mut WhisperState,
        heard: Option<Heard>,
        choices: &[Choice],
        abort: &Abort<'_>,
    ) -> Result<Option<Heard>, AsrError> {
        let Some(primed) = heard else {
            return Ok(None);
        };
        let text = normalise(&self.unprimed(state, abort)?);
        let unprimed = best(&text, choices);
        Ok(Some(match unprimed {
            Some(u) if u.key == primed.key => primed,
            Some(u) if u.confidence >= SCORE_BELOW => Heard {
                confidence: DISAGREED,
                ..u
            },
            _ => Heard {
                confidence: DISAGREED,
                ..primed
            },
        }))
    }

    /// Greedy decoding of the clip in `state` with no prompt: the start of a transcript, at
    /// most `MENU_TOKENS` tokens.
    fn unprimed(&self, state: &mut WhisperState, abort: &Abort<'_>) -> Result<String, AsrError> {
        let ctx = &self.inner.ctx;
        let err = |e: whisper_rs::WhisperError| AsrError::Whisper(e.to_string());
        let threads = self.inner.answers.threads as usize;
        let prefix = self.prefix();
        let eot = ctx.token_eot();
        state.decode(&prefix, 0, threads).map_err(err)?;
        let mut bytes = Vec::new();
        for k in 0..MENU_TOKENS as usize {
            if abort.now() {
                return Err(AsrError::Cancelled);
            }
            let logits = state.get_logits().map_err(err)?;
            // Text tokens only (special ones and timestamps come after end-of-text), and not
            // the end before the first one, as whisper.cpp's suppress-blank does.
            let text_token = logits[..eot as usize]
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(t, l)| (t as i32, *l));
            let Some((next, best)) = text_token else { break };
            if k > 0 && logits[eot as usize] >= best {
                break;
            }
            bytes.extend_from_slice(ctx.token_to_bytes(next).map_err(err)?);
            state.decode(&[next], prefix.len() + k, threads).map_err(err)?;
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The decoder's start: start of transcript, Chinese, transcribe, no timestamps.
    fn prefix(&self) -> [i32; 4] {
        let ctx = &self.inner.ctx;
        let lang = whisper_rs::get_lang_id("zh").unwrap_or(1);
        [
            ctx.token_sot(),
            ctx.token_lang(lang),
            ctx.token_transcribe(),
            ctx.token_not(),
        ]
    }

    /// Log-probability of each phrase as the whole answer to the clip just recognised in
    /// `state`: the decoder reads the phrase's tokens, then end-of-text, over the encoder output
    /// already computed (teacher forcing, without the prompt). Phrases sharing a beginning share
    /// its decoding; each further token is one decoder call (about 14 ms for base on 2 cores).
    fn phrase_scores(
        &self,
        state: &mut WhisperState,
        phrases: &[&str],
        abort: &Abort<'_>,
    ) -> Result<Vec<f32>, AsrError> {
        let ctx = &self.inner.ctx;
        let err = |e: whisper_rs::WhisperError| AsrError::Whisper(e.to_string());
        // The logits and their log-sum-exp: log p(token) = logit - lse.
        let distribution = |logits: &[f32]| -> (Vec<f32>, f32) {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln() + max;
            (logits.to_vec(), lse)
        };
        let lp = |d: &(Vec<f32>, f32), token: i32| d.0[token as usize] - d.1;
        let threads = self.inner.answers.threads as usize;
        let prefix = self.prefix();
        let eot = ctx.token_eot();
        let mut seqs = Vec::with_capacity(phrases.len());
        for (i, p) in phrases.iter().enumerate() {
            seqs.push((ctx.tokenize(p, 64).map_err(err)?, i));
        }
        // Sorted, each phrase shares the decoding of its common beginning with the one before.
        seqs.sort();
        state.decode(&prefix, 0, threads).map_err(err)?;
        // dists[k]: the next-token distribution after the first k tokens of the current path.
        let mut dists = vec![distribution(state.get_logits().map_err(err)?)];
        let mut path: Vec<i32> = Vec::new();
        let mut scores = vec![0f32; phrases.len()];
        for (tokens, i) in &seqs {
            if abort.now() {
                return Err(AsrError::Cancelled);
            }
            let lcp = path.iter().zip(tokens).take_while(|(a, b)| a == b).count();
            path.truncate(lcp);
            dists.truncate(lcp + 1);
            for (k, t) in tokens.iter().enumerate().skip(lcp) {
                state.decode(&[*t], prefix.len() + k, threads).map_err(err)?;
                dists.push(distribution(state.get_logits().map_err(err)?));
                path.push(*t);
            }
            let said: f32 = tokens.iter().enumerate().map(|(k, t)| lp(&dists[k], *t)).sum();
            scores[*i] = said + lp(&dists[tokens.len()], eot);
        }
        Ok(scores)
    }

    fn params<'a>(&'a self, mode: &'a Mode, samples: usize, threads: i32) -> FullParams<'a, 'a> {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(threads);
        p.set_language(Some("zh"));
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        match mode {
            Mode::Menu { words, .. } => {
                let secs = samples as f32 / RATE as f32;
                let ctx = ((secs * CTX_PER_SEC).ceil() as i32 + CTX_MARGIN).clamp(CTX_MIN, 1500);
                p.set_audio_ctx(ctx);
                p.set_initial_prompt(words);
                p.set_single_segment(true);
                p.set_no_timestamps(true);
                p.set_no_context(true);
                p.set_max_tokens(MENU_TOKENS);
                // No temperature fallback: a second decoding pass would double the time.
                p.set_temperature_inc(0.0);
                p.set_suppress_blank(true);
            }
            Mode::Free => {
                p.set_initial_prompt(&self.inner.describe_prompt);
                p.set_no_timestamps(true);
            }
            Mode::Default => {}
        }
        p
    }
}

/// whisper.cpp's own log lines go through `tracing` (at debug level) instead of stderr.
fn install_log_hooks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}
