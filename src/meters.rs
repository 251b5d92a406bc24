//! Prometheus metrics. Every metric the service records is described (HELP, TYPE) and
//! registered with its known labels when the process starts, so `/metrics` is complete from the
//! first scrape, before any webhook; `hotline_build_info` names the version running.

use std::sync::OnceLock;

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::providers::WebhookKind;

pub const WEBHOOKS: &str = "hotline_webhooks_total";
pub const WEBHOOKS_REJECTED: &str = "hotline_webhooks_rejected_total";
pub const SIGNATURE_FAILURES: &str = "hotline_signature_failures_total";
pub const SPEECH_ANSWERS: &str = "hotline_speech_answers_total";
pub const SPEECH_ANSWER_SECONDS: &str = "hotline_speech_answer_seconds";
pub const BUILD_INFO: &str = "hotline_build_info";
pub const FLUSH_FAILURES: &str = "hotline_database_flush_failures_total";

/// The webhook outcomes counted per kind.
const WEBHOOK_OUTCOMES: [&str; 6] = ["ok", "replayed", "stale", "held", "refused", "failed"];
/// A spoken answer: taken, confirmed, not understood, or recognition unavailable.
const SPEECH_OUTCOMES: [&str; 4] = ["taken", "confirm", "not_understood", "unavailable"];
const REJECTED_STATUSES: [&str; 4] = ["400", "403", "413", "415"];

/// The process's recorder (one per process: several apps may run in one test process), with
/// every metric registered.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                register();
            }
            handle
        })
        .clone()
}

fn register() {
    describe_counter!(
        WEBHOOKS,
        "Webhook deliveries handled, by kind and outcome (ok; replayed: a copy got the answer given \
         before; stale: a turn the call had moved past; held: a copy whose owner had not answered \
         in time; refused: a retry could never succeed; failed)."
    );
    describe_counter!(
        WEBHOOKS_REJECTED,
        "Webhook deliveries refused before handling, by HTTP status."
    );
    describe_counter!(
        SIGNATURE_FAILURES,
        "Webhook deliveries with a missing or wrong signature."
    );
    describe_counter!(
        SPEECH_ANSWERS,
        "Spoken menu answers, by outcome (taken, confirm, not_understood, unavailable)."
    );
    describe_histogram!(
        SPEECH_ANSWER_SECONDS,
        Unit::Seconds,
        "Time from a spoken answer's arrival to its meaning (fetch and recognition)."
    );
    describe_counter!(
        FLUSH_FAILURES,
        "Requests answered although flushing their SQLite writes to disk failed."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the labels name the build running.");
    for kind in WebhookKind::ALL {
        for outcome in WEBHOOK_OUTCOMES {
            metrics::counter!(WEBHOOKS, "kind" => kind.as_str(), "outcome" => outcome).absolute(0);
        }
    }
    for status in REJECTED_STATUSES {
        metrics::counter!(WEBHOOKS_REJECTED, "status" => status).absolute(0);
    }
    metrics::counter!(SIGNATURE_FAILURES).absolute(0);
    metrics::counter!(FLUSH_FAILURES).absolute(0);
    for outcome in SPEECH_OUTCOMES {
        metrics::counter!(SPEECH_ANSWERS, "outcome" => outcome).absolute(0);
    }
    // Registered without a sample: shown (count 0) from the first scrape.
    let _ = metrics::histogram!(SPEECH_ANSWER_SECONDS);
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
