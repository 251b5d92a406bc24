//! Callback queue benchmarks against the local Redis (127.0.0.1:6379 or HOTLINE_TEST_REDIS_URL):
//! claim-next latency with 10 000 waiting entries across 50 (matter, prefecture) combinations,
//! and re-queueing 100 000 entries (what the reconciler does after Redis lost everything).
//! Run: `cargo bench --bench queue`. Results: docs/benchmarks.md.

use std::time::{Duration, Instant};

use hotline::domain::legal_aid::Priority;
use hotline::domain::Matter;
use hotline::kv::Kv;
use hotline::routing::queue::{Lawyer, Waiting};
use hotline::routing::CallbackQueue;

const PREFECTURES: [&str; 10] = [
    "610100", "610200", "610300", "610400", "610500", "610600", "610700", "610800", "610900", "611000",
];
const MATTERS: [Matter; 5] = [
    Matter::LabourAndWages,
    Matter::WorkInjury,
    Matter::FamilyAndMaintenance,
    Matter::PersonalInjuryAndTraffic,
    Matter::Criminal,
];

fn kv(name: &str) -> Kv {
    let url = std::env::var("HOTLINE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    Kv::new(
        &url,
        &format!("hotline-bench-{name}-{}", uuid::Uuid::new_v4().simple()),
        Duration::from_secs(5),
    )
    .unwrap()
}

async fn fill(q: &CallbackQueue<'_>, n: usize) {
    for i in 0..n {
        let id = format!("c{i}");
        let priority = Priority::ALL[i % 4];
        q.enqueue(&Waiting {
            id: &id,
            matter: Some(MATTERS[i % MATTERS.len()]),
            prefecture: Some(PREFECTURES[(i / MATTERS.len()) % PREFECTURES.len()]),
            priority,
            waiting_since_ms: 1_800_000_000_000 + i as i64 * 1000,
        })
        .await
        .unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn cleanup(kv: &Kv) {
    let keys: Vec<String> = kv.run(redis::cmd("KEYS").arg(kv.key("queue", "*"))).await.unwrap();
    for chunk in keys.chunks(1000) {
        let _: i64 = kv.run(redis::cmd("DEL").arg(chunk)).await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    // claim-next with 10 000 waiting
    let kv1 = kv("claim");
    let q = CallbackQueue::new(&kv1);
    fill(&q, 10_000).await;
    // A lawyer taking two matters in three prefectures: (2 + unknown) × (3 + unknown) = 12 sets.
    let matters = [Matter::LabourAndWages, Matter::WorkInjury];
    let places: Vec<String> = PREFECTURES[..3].iter().map(|p| p.to_string()).collect();
    let lawyer = Lawyer {
        id: "bench",
        matters: &matters,
        prefectures: &places,
    };
    let mut samples = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        let id = q
            .claim_next(&lawyer, 1_900_000_000_000, 120_000)
            .await
            .unwrap()
            .expect("eligible entries left")
            .id;
        samples.push(started.elapsed());
        q.remove(&id).await.unwrap();
    }
    samples.sort();
    println!(
        "claim_next, 10000 waiting in 50 sets, lawyer eligible for 12 sets, 1000 claims: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples.last().unwrap()
    );
    cleanup(&kv1).await;

    // rebuild: 100 000 entries queued in pipelined batches, as the reconciler does
    let kv2 = kv("rebuild");
    let q = CallbackQueue::new(&kv2);
    let ids: Vec<String> = (0..100_000).map(|i| format!("r{i}")).collect();
    let entries: Vec<Waiting> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Waiting {
            id,
            matter: Some(MATTERS[i % MATTERS.len()]),
            prefecture: Some(PREFECTURES[(i / MATTERS.len()) % PREFECTURES.len()]),
            priority: Priority::ALL[i % 4],
            waiting_since_ms: 1_800_000_000_000 + i as i64 * 1000,
        })
        .collect();
    let started = Instant::now();
    assert_eq!(q.enqueue_many(&entries).await.unwrap(), 100_000);
    let took = started.elapsed();
    println!(
        "rebuild, 100000 entries: {:.1} s ({:.0} entries/s)",
        took.as_secs_f64(),
        100_000.0 / took.as_secs_f64()
    );
    cleanup(&kv2).await;
}
