//! Telephone audio: 8 kHz mono G.711 µ-law WAV (format tag 7), band-limited to 300–3400 Hz.
//!
//! The band filter is a pair of Butterworth biquads (crate `biquad`) at the source rate; the
//! rate change is rubato's FFT resampler, whose own anti-aliasing filter then guards 4 kHz.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::{Pcm, SpeechError};

pub const RATE: u32 = 8000;
pub const FORMAT_MULAW: u16 = 7;
const LOW_HZ: f32 = 300.0;
const HIGH_HZ: f32 = 3400.0;
/// Peak level after normalisation: loud enough over a phone line, clear of clipping.
const PEAK: f32 = 0.7;

/// Any engine's output → the WAV bytes served to the provider.
pub fn to_telephone_wav(pcm: &Pcm) -> Result<Vec<u8>, SpeechError> {
    let mut samples = pcm.samples.clone();
    band_limit(&mut samples, pcm.sample_rate)?;
    let resampled = resample(&samples, pcm.sample_rate, RATE)?;
    let peak = resampled.iter().fold(0f32, |m, s| m.max(s.abs()));
    let gain = if peak > 0.0 { PEAK / peak } else { 1.0 };
    let encoded: Vec<u8> = resampled
        .iter()
        .map(|s| mulaw_encode((s * gain * 32767.0).clamp(-32768.0, 32767.0) as i16))
        .collect();
    Ok(mulaw_wav(&encoded))
}

/// 4th-order Butterworth high-pass at 300 Hz and low-pass at 3400 Hz (two biquads each), in
/// place.
pub fn band_limit(samples: &mut [f32], sample_rate: u32) -> Result<(), SpeechError> {
    // The two sections of a 4th-order Butterworth filter.
    const Q4: [f32; 2] = [0.541_196_1, 1.306_563];
    let fs = (sample_rate as f32).hz();
    let high = HIGH_HZ.min(sample_rate as f32 * 0.45);
    let mut filters = Vec::with_capacity(4);
    for (kind, f0) in [(Type::HighPass, LOW_HZ), (Type::LowPass, high)] {
        for q in Q4 {
            let coefficients = Coefficients::<f32>::from_params(kind, fs, f0.hz(), q)
                .map_err(|e| SpeechError::Audio(format!("band filter at {sample_rate} Hz: {e:?}")))?;
            filters.push(DirectForm2Transposed::<f32>::new(coefficients));
        }
    }
    for s in samples.iter_mut() {
        *s = filters.iter_mut().fold(*s, |x, f| f.run(x));
    }
    Ok(())
}

/// Mono resampling with rubato; the output is trimmed of the resampler's delay.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, SpeechError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let err = |e: String| SpeechError::Audio(format!("resampling {from} → {to} Hz: {e}"));
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input).map_err(|e| err(e.to_string()))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| err(e.to_string()))?;
    let needed = resampler.process_all_needed_output_len(samples.len());
    let mut out = vec![0f32; needed];
    let mut output = InterleavedSlice::new_mut(&mut out, 1, needed).map_err(|e| err(e.to_string()))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&input, &mut output, samples.len(), None)
        .map_err(|e| err(e.to_string()))?;
    out.truncate(produced);
    Ok(out)
}

/// G.711 µ-law, as in the ITU reference (bias 0x84, clip 32635).
pub fn mulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

pub fn mulaw_decode(byte: u8) -> i16 {
    const BIAS: i32 = 0x84;
    let u = !byte;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// A WAV file around µ-law bytes: `fmt ` (18 bytes, tag 7), `fact`, `data`. hound writes PCM
/// only, so these few header bytes are written here.
pub fn mulaw_wav(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u32;
    let mut out = Vec::with_capacity(58 + data.len() + 1);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(4 + 26 + 12 + 8 + len + (len & 1)).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&FORMAT_MULAW.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&RATE.to_le_bytes()); // bytes per second
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(&0u16.to_le_bytes()); // no extension
    out.extend_from_slice(b"fact");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    if len & 1 == 1 {
        out.push(0); // chunks are word-aligned
    }
    out
}

/// What a WAV header says; enough to check telephone audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavInfo {
    pub format_tag: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub bits_per_sample: u16,
    pub data: std::ops::Range<usize>,
}

impl WavInfo {
    pub fn duration_secs(&self) -> f64 {
        let bytes_per_frame = f64::from(self.channels) * f64::from(self.bits_per_sample) / 8.0;
        self.data.len() as f64 / bytes_per_frame / f64::from(self.sample_rate)
    }
}

/// Walks the RIFF chunks of a WAV file.
pub fn parse_wav(bytes: &[u8]) -> Result<WavInfo, SpeechError> {
    let bad = |why: &str| SpeechError::Audio(format!("not a WAV file: {why}"));
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (mut pos, mut fmt) = (12, None);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(pos + 4) as usize;
        let body = pos + 8;
        if id == b"fmt " && size >= 16 && body + 16 <= bytes.len() {
            fmt = Some((u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14)));
        }
        if id == b"data" {
            let (format_tag, channels, sample_rate, bits_per_sample) = fmt.ok_or_else(|| bad("data before fmt"))?;
            let end = (body + size).min(bytes.len());
            return Ok(WavInfo {
                format_tag,
                channels,
                sample_rate,
                bits_per_sample,
                data: body..end,
            });
        }
        pos = body + size + (size & 1);
    }
    Err(bad("no data chunk"))
}

/// Reads any PCM or float WAV (hound) or a µ-law one, mixed down to mono.
pub fn decode_wav(bytes: &[u8]) -> Result<Pcm, SpeechError> {
    let info = parse_wav(bytes)?;
    if info.format_tag == FORMAT_MULAW {
        let channels = usize::from(info.channels.max(1));
        let samples = bytes[info.data.clone()]
            .chunks(channels)
            .map(|frame| frame.iter().map(|b| f32::from(mulaw_decode(*b)) / 32768.0).sum::<f32>() / channels as f32)
            .collect();
        return Ok(Pcm {
            samples,
            sample_rate: info.sample_rate,
        });
    }
    let mut reader =
        hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(|e| SpeechError::Audio(e.to_string()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 2f32.powi(i32::from(spec.bits_per_sample) - 1);
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(|e| SpeechError::Audio(e.to_string()))?;
    let samples = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Pcm {
        samples,
        sample_rate: spec.sample_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, secs: f32) -> Pcm {
        let n = (rate as f32 * secs) as usize;
        Pcm {
            samples: (0..n)
                .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
                .collect(),
            sample_rate: rate,
        }
    }

    #[test]
    fn mulaw_round_trip_is_close() {
        for s in [-32768i16, -20000, -1000, -1, 0, 1, 100, 1000, 20000, 32767] {
            let back = mulaw_decode(mulaw_encode(s));
            let tolerance = (i32::from(s).abs() / 16).max(8);
            assert!((i32::from(back) - i32::from(s)).abs() <= tolerance, "{s} → {back}");
        }
        // Reference values of G.711: silence encodes as 0xFF.
        assert_eq!(mulaw_encode(0), 0xFF);
        assert_eq!(mulaw_encode(-1), 0x7F);
    }

    #[test]
    fn telephone_wav_is_8khz_mulaw_with_the_same_duration() {
        let wav = to_telephone_wav(&tone(1000.0, 22050, 1.5)).unwrap();
        let info = parse_wav(&wav).unwrap();
        assert_eq!(
            (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample),
            (7, 1, 8000, 8)
        );
        assert!((info.duration_secs() - 1.5).abs() < 0.05, "{}", info.duration_secs());
        assert_eq!(
            u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize,
            wav.len() - 8
        );
    }

    /// Amplitude of one frequency in a signal (Goertzel).
    fn amplitude(samples: &[f32], rate: u32, freq: f32) -> f32 {
        let w = 2.0 * std::f32::consts::PI * freq / rate as f32;
        let (mut s1, mut s2) = (0f32, 0f32);
        for x in samples {
            let s0 = x + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() * 2.0 / samples.len() as f32
    }

    #[test]
    fn speech_band_passes_and_the_rest_is_cut() {
        // 1 kHz plus one other tone at the same level, through the whole pipeline: how much of
        // the other tone is left relative to 1 kHz.
        let relative = |freq: f32| {
            let (a, b) = (tone(1000.0, 22050, 1.0), tone(freq, 22050, 1.0));
            let mixed = Pcm {
                samples: a.samples.iter().zip(&b.samples).map(|(x, y)| x + y).collect(),
                sample_rate: 22050,
            };
            let out = decode_wav(&to_telephone_wav(&mixed).unwrap()).unwrap();
            assert_eq!(out.sample_rate, 8000);
            let steady = &out.samples[800..7200];
            amplitude(steady, 8000, freq) / amplitude(steady, 8000, 1000.0)
        };
        assert!(relative(2000.0) > 0.9, "2 kHz passes: {}", relative(2000.0));
        assert!(relative(500.0) > 0.8, "500 Hz passes: {}", relative(500.0));
        assert!(relative(100.0) < 0.05, "100 Hz hum is cut: {}", relative(100.0));
        assert!(relative(3900.0) < 0.5, "above the band is cut: {}", relative(3900.0));
    }

    #[test]
    fn pcm_and_mulaw_files_decode() {
        let mut buf = std::io::Cursor::new(Vec::new());
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        for _ in 0..1600 {
            w.write_sample(16384i16).unwrap();
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let pcm = decode_wav(buf.get_ref()).unwrap();
        assert_eq!((pcm.sample_rate, pcm.samples.len()), (16000, 1600));
        assert!((pcm.samples[0] - 0.25).abs() < 1e-3, "stereo mixed to mono");

        let mulaw = decode_wav(&mulaw_wav(&[mulaw_encode(8192); 800])).unwrap();
        assert_eq!((mulaw.sample_rate, mulaw.samples.len()), (8000, 800));
        assert!((mulaw.samples[0] - 0.25).abs() < 0.01);
        assert!(decode_wav(b"RIFF....WAVEjunk").is_err());
    }
}
