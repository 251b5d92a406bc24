//! A recording as whisper takes it: 16 kHz mono samples, trimmed of the silence around speech.

use super::AsrError;
use crate::speech::telephone::{decode_wav, resample};

/// Whisper's sample rate.
pub const RATE: u32 = 16_000;
/// Analysis frame for trimming: 20 ms.
const FRAME: usize = (RATE / 50) as usize;
/// Kept around the speech found, so no syllable is clipped.
const MARGIN_FRAMES: usize = 10;

/// Decodes a WAV (PCM of any rate, or G.711 µ-law as telephone recordings come) to 16 kHz.
pub fn wav_to_16k(bytes: &[u8], max_secs: u32) -> Result<Vec<f32>, AsrError> {
    let pcm = decode_wav(bytes).map_err(|e| AsrError::Audio(e.to_string()))?;
    if pcm.duration_secs() > f64::from(max_secs) {
        return Err(AsrError::Audio(format!(
            "{:.0} s of audio, more than the {max_secs} s allowed",
            pcm.duration_secs()
        )));
    }
    resample(&pcm.samples, pcm.sample_rate, RATE).map_err(|e| AsrError::Audio(e.to_string()))
}

/// The stretch from the first to the last frame louder than the noise floor by a clear margin,
/// with a little margin; all of it when no frame stands out.
pub fn trim_silence(samples: &[f32]) -> &[f32] {
    let energies: Vec<f32> = samples
        .chunks(FRAME)
        .map(|f| f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32)
        .collect();
    let Some(peak) = energies.iter().copied().reduce(f32::max) else {
        return samples;
    };
    let mut sorted = energies.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let threshold = (floor * 10.0).max(peak * 0.01).max(1e-6);
    let loud = |e: &&f32| **e > threshold;
    let (Some(first), Some(last)) = (
        energies.iter().position(|e| loud(&e)),
        energies.iter().rposition(|e| loud(&e)),
    ) else {
        return samples;
    };
    let start = first.saturating_sub(MARGIN_FRAMES) * FRAME;
    let end = ((last + 1 + MARGIN_FRAMES) * FRAME).min(samples.len());
    &samples[start..end]
}

/// The loudest 20 ms frame's level: near zero means the caller said nothing.
pub fn peak_rms(samples: &[f32]) -> f32 {
    samples
        .chunks(FRAME)
        .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt())
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::telephone::{mulaw_encode, mulaw_wav};

    fn tone_between_silences() -> Vec<f32> {
        let mut s = vec![0.0f32; RATE as usize];
        s.extend((0..RATE / 2).map(|i| 0.3 * (i as f32 * 0.2).sin()));
        s.extend(vec![0.0f32; RATE as usize]);
        s
    }

    #[test]
    fn silence_around_speech_is_trimmed_with_a_margin() {
        let s = tone_between_silences();
        let trimmed = trim_silence(&s);
        let secs = trimmed.len() as f32 / RATE as f32;
        assert!((0.85..=0.95).contains(&secs), "{secs}");
        assert_eq!(trim_silence(&[0.0; 1000]).len(), 1000, "all silence stays as is");
    }

    #[test]
    fn telephone_mulaw_is_upsampled_to_16k() {
        let s = tone_between_silences();
        let eight_k: Vec<u8> = s
            .iter()
            .step_by(2)
            .map(|v| mulaw_encode((v * 32767.0) as i16))
            .collect();
        let out = wav_to_16k(&mulaw_wav(&eight_k), 60).unwrap();
        let expected = s.len() as f32;
        assert!((out.len() as f32 - expected).abs() / expected < 0.02, "{}", out.len());
        assert!(peak_rms(&out) > 0.15);
        assert!(matches!(wav_to_16k(&mulaw_wav(&eight_k), 1), Err(AsrError::Audio(_))));
    }
}
