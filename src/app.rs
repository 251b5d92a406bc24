//! Wiring: settings → shared state → router and background jobs, and graceful shutdown.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::asr::{Asr, Fetcher, Local, Pool, Recogniser};
use crate::config::IvrSettings;
use crate::config::Settings;
use crate::crypto::{CryptoError, DataKey};
use crate::domain::region::RegionError;
use crate::domain::Regions;
use crate::ivr::flow::FlowError;
use crate::ivr::prompts::PromptsError;
use crate::ivr::{Flow, Prompts};
use crate::kv::{Kv, KvError};
use crate::providers::twilio::{RestClient, Validator};
use crate::speech::{SpeechError, Voice};
use crate::storage::{Db, StorageError};

/// The provider name stored with calls and events.
pub const PROVIDER: &str = "twilio";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("HOTLINE_DATA_KEY: {0}")]
    DataKey(#[from] CryptoError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error(transparent)]
    Speech(#[from] SpeechError),
    #[error(transparent)]
    Prompts(#[from] PromptsError),
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Regions(#[from] RegionError),
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub kv: Arc<Kv>,
    pub rest: RestClient,
    pub validator: Validator,
    pub prompts: Arc<Prompts>,
    pub flow: Arc<Flow>,
    pub voice: Arc<Voice>,
    /// Speech input; None runs the IVR keypad-only.
    pub asr: Option<Asr>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    /// Actions as TwiML, with the configured `<Say>` voice.
    pub fn twiml(&self, actions: &[crate::providers::Action]) -> String {
        let s = &self.settings;
        let style = crate::providers::twilio::twiml::Style {
            base: &s.public_url,
            voice: &s.twilio.say_voice,
            language: &s.twilio.say_language,
        };
        crate::providers::twilio::twiml::render(actions, &style)
    }

    /// Builds the state without touching the network: the database and Redis are connected on
    /// first use, so the service can start (and answer calls with the fallback) while either is
    /// down.
    pub fn new(settings: Settings) -> Result<Self, AppError> {
        // The IVR files first: a broken one stops start-up before anything else happens.
        let prompts = Prompts::load(IvrSettings::file(&settings.ivr.prompts_file))?;
        let regions = Regions::load(IvrSettings::file(&settings.ivr.regions_file))?;
        let flow = Flow::load(IvrSettings::file(&settings.ivr.flow_file), &prompts, regions)?;
        let key = data_key(&settings)?;
        let db = Db::connect(
            settings.database.url.expose_secret(),
            settings.database.max_connections,
            Duration::from_millis(settings.database.acquire_timeout_ms),
            key,
        )?;
        let kv = Kv::new(
            settings.redis.url.expose_secret(),
            &settings.redis.prefix,
            Duration::from_millis(settings.redis.timeout_ms),
        )?;
        let rest = RestClient::new(
            settings.twilio.api_base.clone(),
            &settings.twilio.account_sid,
            settings.twilio.auth_token.clone(),
            Duration::from_millis(settings.twilio.request_timeout_ms),
        );
        let voice = Voice::from_settings(&settings.speech)?;
        let kv = Arc::new(kv);
        let asr = match settings.whisper.remote {
            true => {
                tracing::info!("speech input is on: recognised by `hotline worker` processes through Redis");
                Some(Asr::Remote(crate::asr::remote::Remote::new(kv.clone())))
            }
            false => load_local(&settings).map(Asr::Local),
        };
        Ok(Self {
            asr,
            voice: Arc::new(voice),
            validator: Validator::new(settings.twilio.auth_token.expose_secret()),
            settings: Arc::new(settings),
            db,
            kv,
            rest,
            prompts: Arc::new(prompts),
            flow: Arc::new(flow),
            metrics: crate::meters::handle(),
        })
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish, stops the
    /// background jobs (when `jobs.in_serve` runs them here) and closes the pool.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_jobs, jobs_stopped) = watch::channel(false);
        let jobs = self
            .settings
            .jobs
            .in_serve
            .then(|| tokio::spawn(crate::jobs::run(self.clone(), jobs_stopped)));
        tokio::spawn(crate::jobs::prerender_prompts(self.clone()));
        let router = crate::http::router(self.clone());
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let asr = self.asr.clone();
        let signal = async move {
            shutdown.await;
            if let Some(Asr::Local(local)) = &asr {
                local.recogniser.stop();
            }
            let _ = stopping.send(());
        };
        let serving = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        let grace = Duration::from_secs(self.settings.shutdown_grace_secs);
        let served = tokio::select! {
            served = serving => served,
            _ = async {
                let _ = stopped.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still open after the shutdown grace; stopping anyway");
                Ok(())
            }
        };
        let _ = stop_jobs.send(true);
        if let Some(jobs) = jobs {
            let _ = jobs.await;
        }
        self.db.close().await;
        served
    }

    /// `hotline worker`: the background jobs alone (and, with `whisper.remote`, speech
    /// recognition for the web processes), until `shutdown` resolves.
    pub async fn work(self, shutdown: impl Future<Output = ()>) {
        let (stop_jobs, jobs_stopped) = watch::channel(false);
        let recognising = match self.settings.whisper.remote {
            true => load_local(&self.settings).map(|local| {
                let consumer = format!("worker-{}", uuid::Uuid::new_v4());
                let recogniser = local.recogniser.clone();
                let serving = tokio::spawn(crate::asr::remote::serve_jobs(
                    self.kv.clone(),
                    local,
                    consumer,
                    Duration::from_secs(self.settings.whisper.reclaim_after_secs),
                    jobs_stopped.clone(),
                ));
                (recogniser, serving)
            }),
            false => None,
        };
        let jobs = tokio::spawn(crate::jobs::run(self.clone(), jobs_stopped));
        shutdown.await;
        if let Some((recogniser, _)) = &recognising {
            recogniser.stop();
        }
        let _ = stop_jobs.send(true);
        let _ = jobs.await;
        if let Some((_, serving)) = recognising {
            let _ = serving.await;
        }
        self.db.close().await;
    }
}

/// The Whisper model, or None (keypad-only) with the reason in the log.
pub fn load_local(settings: &Settings) -> Option<Local> {
    let w = &settings.whisper;
    if w.model.is_empty() {
        tracing::warn!("speech input is off (whisper.model is empty): the IVR runs keypad-only");
        return None;
    }
    match Recogniser::load(std::path::Path::new(&w.model), Pool::from_settings(w)) {
        Ok(recogniser) => {
            tracing::info!(model = %w.model, workers = w.workers, "speech input is on");
            let recordings = Fetcher::new(
                w.recording_hosts(),
                &settings.twilio.account_sid,
                settings.twilio.auth_token.clone(),
                w.max_recording_bytes,
            );
            Some(Local { recogniser, recordings })
        }
        Err(e) => {
            tracing::warn!(error = %e, "speech input is off: the IVR runs keypad-only (scripts/whisper-model obtains the model)");
            None
        }
    }
}

fn data_key(settings: &Settings) -> Result<DataKey, CryptoError> {
    let configured = settings.data_key.expose_secret();
    if !configured.is_empty() {
        return DataKey::from_hex(configured);
    }
    // Settings::validate refuses production without a key, so this is development.
    let path = settings.data_dir.join("dev-data-key");
    tracing::warn!(
        path = %path.display(),
        "HOTLINE_DATA_KEY is not set: personal data is encrypted with a development key kept on this disk. \
         Never use this in production."
    );
    DataKey::load_or_create(&path)
}
