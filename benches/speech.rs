//! Speech output benchmarks: rendering one prompt (espeak-ng and the neural voice, then the
//! telephone conversion) and serving a cached prompt through the router. Results:
//! docs/benchmarks.md. The neural voice's benchmarks need its files (scripts/voice-model).

use std::time::Duration;

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hotline::app::AppState;
use hotline::config::Settings;
use hotline::speech::espeak::Espeak;
use hotline::speech::neural::Neural;
use hotline::speech::telephone::to_telephone_wav;
use hotline::speech::{SpeechRate, Synthesizer};
use secrecy::SecretString;
use tower::ServiceExt;

const MENU: &str = "需要律师给您回电，请按1。转人工服务，请按0。重听，请按星号键。调慢语速，请按7；调快语速，请按9。";

fn render(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = Espeak::start("cmn-latn-pinyin").expect("libespeak-ng installed");
    let pcm = rt.block_on(engine.synthesize(MENU, SpeechRate::Normal)).unwrap();
    let mut group = c.benchmark_group("render");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("espeak_menu_prompt", |b| {
        b.to_async(&rt).iter(|| engine.synthesize(MENU, SpeechRate::Normal))
    });
    group.bench_function("telephone_conversion_menu_prompt", |b| {
        b.iter(|| to_telephone_wav(&pcm).unwrap())
    });
    group.finish();
}

/// A sentence of about 5 s that no memory holds (one phrase longer than the memo keeps).
const NOVEL: &str = "我在工地上干活摔断了腿老板不给报工伤也不给医药费";

fn render_neural(c: &mut Criterion) {
    let voice = match Neural::load(&Settings::defaults().speech) {
        Ok(voice) => voice,
        Err(e) => return println!("neural voice benchmarks skipped: {e}"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secs = rt
        .block_on(voice.synthesize(NOVEL, SpeechRate::Normal))
        .unwrap()
        .duration_secs();
    println!("the novel sentence lasts {secs:.2} s");
    let mut group = c.benchmark_group("render");
    group.sample_size(20).measurement_time(Duration::from_secs(15));
    group.bench_function("neural_novel_sentence", |b| {
        b.to_async(&rt).iter(|| voice.synthesize(NOVEL, SpeechRate::Normal))
    });
    group.bench_function("espeak_novel_sentence", |b| {
        let engine = Espeak::start("cmn-latn-pinyin").expect("libespeak-ng installed");
        b.to_async(&rt).iter(|| {
            let engine = &engine;
            async move { engine.synthesize(NOVEL, SpeechRate::Normal).await }
        })
    });
    // A ticket read back: the template and the ten digits are phrases heard before.
    let ticket = |n: u64| {
        let digits = hotline::domain::spoken::digits(&format!("{:08}", n % 100_000_000));
        format!("您的受理编号是：{digits}。再说一遍，受理编号是：{digits}。")
    };
    rt.block_on(voice.synthesize(&ticket(1_234_567_890), SpeechRate::Normal))
        .unwrap();
    let mut n = 0u64;
    group.bench_function("neural_ticket_readback", |b| {
        b.to_async(&rt).iter(|| {
            n = n
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let text = ticket(n >> 20);
            let voice = &voice;
            async move { voice.synthesize(&text, SpeechRate::Normal).await }
        })
    });
    group.finish();
}

fn serve(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::defaults();
    s.data_key = SecretString::from("00".repeat(32));
    s.database.url = SecretString::from(format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display()));
    s.speech.cache_dir = dir.path().join("cache");
    let state = {
        let _runtime = rt.enter(); // the lazy pool wants a runtime to exist
        AppState::new(s).unwrap()
    };
    let key = rt
        .block_on(state.voice.render(Some("menu"), MENU, SpeechRate::Normal))
        .unwrap();
    let size = rt.block_on(state.voice.audio(&key)).unwrap().len();
    let router = hotline::http::router(state);
    let uri = format!("/audio/{key}.wav");
    let mut group = c.benchmark_group("serve");
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("cached_prompt_get", |b| {
        b.to_async(&rt).iter(|| {
            let req = axum::http::Request::get(&uri).body(Body::empty()).unwrap();
            let router = router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap()
            }
        })
    });
    group.finish();
}

criterion_group!(benches, render, render_neural, serve);
criterion_main!(benches);
