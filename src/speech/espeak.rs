//! libespeak-ng in-process. Its state is global to the process, so one dedicated thread owns it
//! for the life of the process: every [`Espeak`] handle sends requests to that thread over a
//! channel and gets each answer back on a oneshot. ~1000× faster than real time,
//! robotic but intelligible; voice `cmn-latn-pinyin` (plain `cmn` reads tone digits in English
//! on Debian 12).

use std::ffi::{c_int, c_short, CString};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use espeakng_sys as sys;
use tokio::sync::oneshot;

use super::{Pcm, SpeechError, SpeechRate, Synthesizer};

/// Words per minute for each rate (espeak's default is 175).
fn words_per_minute(rate: SpeechRate) -> c_int {
    match rate {
        SpeechRate::Slower => 120,
        SpeechRate::Normal => 160,
        SpeechRate::Faster => 220,
    }
}

struct Job {
    voice: String,
    text: String,
    rate: SpeechRate,
    /// Called on the engine thread with the result.
    reply: Box<dyn FnOnce(Result<Pcm, SpeechError>) + Send>,
}

/// A handle on the process's espeak-ng thread, speaking with one voice.
pub struct Espeak {
    voice: String,
    jobs: mpsc::Sender<Job>,
}

/// The engine thread's inbox, or why it could not start.
static ENGINE: OnceLock<Result<Mutex<mpsc::Sender<Job>>, String>> = OnceLock::new();

/// Samples written by the synthesis callback, which runs on the engine thread during
/// `espeak_Synth` (synchronous mode).
static SAMPLES: Mutex<Vec<i16>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_samples(wav: *mut c_short, count: c_int, _events: *mut sys::espeak_EVENT) -> c_int {
    if !wav.is_null() && count > 0 {
        // SAFETY: espeak hands us `count` samples at `wav`, valid for this call.
        let chunk = unsafe { std::slice::from_raw_parts(wav, count as usize) };
        SAMPLES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(chunk);
    }
    0
}

impl Espeak {
    /// A handle speaking with `voice`; starts the engine thread on first use. Fails if
    /// libespeak-ng, its data or the voice is missing.
    pub fn start(voice: &str) -> Result<Self, SpeechError> {
        let engine = ENGINE.get_or_init(|| start_thread().map(Mutex::new).map_err(|e| e.to_string()));
        let jobs = match engine {
            Ok(jobs) => jobs.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            Err(e) => return Err(SpeechError::Engine(e.clone())),
        };
        let handle = Self {
            voice: voice.to_owned(),
            jobs,
        };
        // Check the voice now rather than on the first call (an empty text only sets it).
        let (reply, answer) = mpsc::channel();
        handle.send(Job {
            voice: voice.to_owned(),
            text: String::new(),
            rate: SpeechRate::Normal,
            reply: Box::new(move |result| {
                let _ = reply.send(result);
            }),
        })?;
        match answer.recv() {
            Ok(Err(e)) => Err(e),
            Ok(Ok(_)) => Ok(handle),
            Err(_) => Err(SpeechError::Engine("the espeak-ng thread stopped".into())),
        }
    }

    fn send(&self, job: Job) -> Result<(), SpeechError> {
        self.jobs
            .send(job)
            .map_err(|_| SpeechError::Engine("the espeak-ng thread stopped".into()))
    }
}

fn start_thread() -> Result<mpsc::Sender<Job>, SpeechError> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), SpeechError>>();
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("espeak-ng".into())
        .spawn(move || {
            let sample_rate = match init() {
                Ok(rate) => rate,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let mut current_voice = String::new();
            for job in jobs_rx {
                if job.voice != current_voice {
                    if let Err(e) = set_voice(&job.voice) {
                        (job.reply)(Err(e));
                        continue;
                    }
                    current_voice = job.voice.clone();
                }
                let result = if job.text.is_empty() {
                    Ok(Pcm {
                        samples: Vec::new(),
                        sample_rate,
                    })
                } else {
                    synthesize(&job.text, job.rate, sample_rate)
                };
                (job.reply)(result);
            }
        })
        .map_err(|e| SpeechError::Engine(format!("cannot start the espeak-ng thread: {e}")))?;
    ready_rx
        .recv()
        .map_err(|_| SpeechError::Engine("the espeak-ng thread stopped".into()))??;
    Ok(jobs_tx)
}

fn set_voice(voice: &str) -> Result<(), SpeechError> {
    let name = CString::new(voice).map_err(|_| SpeechError::Engine("voice name contains NUL".into()))?;
    // SAFETY: on the engine thread.
    if unsafe { sys::espeak_SetVoiceByName(name.as_ptr()) } != sys::espeak_ERROR_EE_OK {
        return Err(SpeechError::Engine(format!("espeak-ng has no voice {voice}")));
    }
    Ok(())
}

fn init() -> Result<u32, SpeechError> {
    // SAFETY: called once, on the thread that owns espeak from now on.
    unsafe {
        let rate = sys::espeak_Initialize(
            sys::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            std::ptr::null(),
            0,
        );
        if rate <= 0 {
            return Err(SpeechError::Engine(
                "espeak_Initialize failed (is espeak-ng-data installed?)".into(),
            ));
        }
        sys::espeak_SetSynthCallback(Some(on_samples));
        Ok(rate as u32)
    }
}

fn synthesize(text: &str, rate: SpeechRate, sample_rate: u32) -> Result<Pcm, SpeechError> {
    let c_text = CString::new(text).map_err(|_| SpeechError::Engine("text contains NUL".into()))?;
    SAMPLES.lock().unwrap_or_else(|e| e.into_inner()).clear();
    // SAFETY: on the engine thread; the text outlives the synchronous call.
    let status = unsafe {
        sys::espeak_SetParameter(sys::espeak_PARAMETER_espeakRATE, words_per_minute(rate), 0);
        let status = sys::espeak_Synth(
            c_text.as_ptr().cast(),
            c_text.as_bytes_with_nul().len(),
            0,
            sys::espeak_POSITION_TYPE_POS_CHARACTER,
            0,
            sys::espeakCHARS_UTF8,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        sys::espeak_Synchronize();
        status
    };
    if status != sys::espeak_ERROR_EE_OK {
        return Err(SpeechError::Engine(format!("espeak_Synth returned {status}")));
    }
    let samples: Vec<f32> = std::mem::take(&mut *SAMPLES.lock().unwrap_or_else(|e| e.into_inner()))
        .into_iter()
        .map(|s| f32::from(s) / 32768.0)
        .collect();
    if samples.is_empty() {
        return Err(SpeechError::Engine("espeak-ng produced no audio".into()));
    }
    Ok(Pcm { samples, sample_rate })
}

#[async_trait::async_trait]
impl Synthesizer for Espeak {
    fn id(&self) -> String {
        format!("espeak-ng:{}", self.voice)
    }

    async fn synthesize(&self, text: &str, rate: SpeechRate) -> Result<Pcm, SpeechError> {
        if text.trim().is_empty() {
            return Err(SpeechError::Engine("nothing to say".into()));
        }
        let (reply, answer) = oneshot::channel();
        self.send(Job {
            voice: self.voice.clone(),
            text: text.to_owned(),
            rate,
            reply: Box::new(move |result| {
                let _ = reply.send(result);
            }),
        })?;
        answer
            .await
            .map_err(|_| SpeechError::Engine("the espeak-ng thread stopped".into()))?
    }
}
