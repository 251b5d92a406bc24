//! The two networks of the voice, run by ONNX Runtime in-process (the `ort` crate loading the
//! `libonnxruntime.so` that the onnxruntime wheel ships): FastSpeech2 turns symbol ids into a
//! mel spectrogram, MB-MelGAN turns that into 24 kHz audio. The rate is FastSpeech2's duration
//! control, so a slower voice keeps its pitch.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;

use super::super::SpeechError;

pub const SAMPLE_RATE: u32 = 24_000;

pub struct Model {
    acoustic: Mutex<Session>,
    vocoder: Mutex<Session>,
}

/// ONNX Runtime allows one environment per process, loaded once from one library.
static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

fn engine_error(e: impl std::fmt::Display) -> SpeechError {
    SpeechError::Engine(format!("neural voice: {e}"))
}

impl Model {
    /// Loads the runtime library (once per process) and both networks from `dir`.
    pub fn load(dir: &Path, threads: usize) -> Result<Self, SpeechError> {
        let runtime = RUNTIME.get_or_init(|| {
            ort::init_from(dir.join("libonnxruntime.so"))
                .map_err(|e| e.to_string())?
                .with_name("hotline-voice")
                .with_telemetry(false)
                .build()
                .map_err(|e| e.to_string())
        });
        let env = runtime
            .as_ref()
            .map_err(|e| engine_error(format!("ONNX Runtime: {e}")))?;
        let open = |file: &str| -> Result<Mutex<Session>, SpeechError> {
            let session = Session::builder(env)
                .map_err(engine_error)?
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(engine_error)?
                .with_intra_threads(threads)
                .map_err(engine_error)?
                .with_inter_threads(1)
                .map_err(engine_error)?
                // Idle threads sleep instead of spinning: Whisper shares these cores.
                .with_intra_op_spinning(false)
                .map_err(engine_error)?
                .commit_from_file(dir.join(file))
                .map_err(|e| engine_error(format!("{file}: {e}")))?;
            Ok(Mutex::new(session))
        };
        Ok(Self {
            acoustic: open("acoustic.onnx")?,
            vocoder: open("vocoder.onnx")?,
        })
    }

    /// Audio samples for one sentence's symbol ids; `duration` multiplies every phoneme's
    /// length (1.0 normal, above 1 slower), `pitch_range` the predicted pitch's deviation from
    /// the voice's mean (1.0 as trained, above 1 livelier).
    pub fn speak(&self, ids: &[i32], duration: f32, pitch_range: f32) -> Result<Vec<f32>, SpeechError> {
        let mel = {
            let mut acoustic = self.acoustic.lock().unwrap_or_else(|e| e.into_inner());
            let inputs = ort::inputs![
                "input_ids" => Tensor::from_array(([1usize, ids.len()], ids.to_vec())).map_err(engine_error)?,
                "speaker_ids" => Tensor::from_array(([1usize], vec![0i32])).map_err(engine_error)?,
                "speed_ratios" => Tensor::from_array(([1usize], vec![duration])).map_err(engine_error)?,
                "f0_ratios" => Tensor::from_array(([1usize], vec![pitch_range])).map_err(engine_error)?,
                "energy_ratios" => Tensor::from_array(([1usize], vec![1.0f32])).map_err(engine_error)?,
            ];
            let outputs = acoustic.run(inputs).map_err(engine_error)?;
            // The second output is the mel after the post-net, the vocoder's input.
            let (shape, data) = outputs[1].try_extract_tensor::<f32>().map_err(engine_error)?;
            let frames = usize::try_from(shape[1]).map_err(engine_error)?;
            (frames, data.to_vec())
        };
        let (frames, mel) = mel;
        if frames == 0 {
            return Ok(Vec::new());
        }
        let mut vocoder = self.vocoder.lock().unwrap_or_else(|e| e.into_inner());
        let input = Tensor::from_array(([1usize, frames, 80], mel)).map_err(engine_error)?;
        let outputs = vocoder.run(ort::inputs!["mels" => input]).map_err(engine_error)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(engine_error)?;
        Ok(audio.to_vec())
    }
}
