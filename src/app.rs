//! The shared handles: [`AppState`] for the service (stores, provider clients, the IVR files, the
//! voice and speech input) and [`Stores`] for commands that neither speak nor listen. Running
//! them is the `server` module's.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use tokio_util::task::TaskTracker;

use crate::asr::{Asr, Local, Pool, Recogniser, Recordings};
use crate::config::IvrSettings;
use crate::config::{Provider, Settings, SmsProvider};
use crate::crypto::{CryptoError, DataKey};
use crate::domain::region::RegionError;
use crate::domain::Regions;
use crate::ivr::flow::FlowError;
use crate::ivr::Flow;
use crate::kv::{Kv, KvError};
use crate::prompts::{Prompts, PromptsError};
use crate::providers::aliyun::Aliyun;
use crate::providers::jambonz::Jambonz;
use crate::providers::twilio::{RestClient, Twilio, Validator};
use crate::providers::{Messaging, Telephony, Wire};
use crate::speech::{SpeechError, Voice};
use crate::storage::{Db, StorageError};

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
    /// Calls placed and changed, recordings fetched and deleted.
    pub telephony: Arc<dyn Telephony>,
    /// Texts sent.
    pub messaging: Arc<dyn Messaging>,
    /// The providers whose webhooks the service answers.
    pub wires: Vec<Arc<dyn Wire>>,
    pub prompts: Arc<Prompts>,
    pub flow: Arc<Flow>,
    pub voice: Arc<Voice>,
    /// Speech input; None runs the IVR keypad-only.
    pub asr: Option<Asr>,
    pub metrics: PrometheusHandle,
    /// Work spawned off a request (a text and its retries, a callback's caller leg, a
    /// transcription, a webhook's handler), which a shutdown lets finish within its grace.
    pub tasks: TaskTracker,
}

impl AppState {
    /// Builds the state without touching the network: the database and Redis are connected on
    /// first use, so the service can start (and answer calls with the fallback) while either is
    /// down.
    pub fn new(settings: Settings) -> Result<Self, AppError> {
        // The IVR files first: a broken one stops start-up before anything else happens.
        let prompts = Prompts::load(IvrSettings::file(&settings.ivr.prompts_file))?;
        let regions = Regions::load(IvrSettings::file(&settings.ivr.regions_file))?;
        let flow = Flow::load(IvrSettings::file(&settings.ivr.flow_file), &prompts, regions)?;
        let key = data_key(&settings)?;
        let Stores { db, kv } = Stores::with_key(&settings, key.clone())?;
        let rest = RestClient::new(
            settings.twilio.api_base.clone(),
            &settings.twilio.account_sid,
            settings.twilio.auth_token.clone(),
            Duration::from_millis(settings.twilio.request_timeout_ms),
        );
        let twilio = Arc::new(Twilio {
            rest,
            validator: Validator::new(settings.twilio.auth_token.expose_secret()),
            base: settings.public_url.clone(),
            voice: settings.twilio.say_voice.clone(),
            language: settings.twilio.say_language.clone(),
        });
        let messaging: Arc<dyn Messaging> = match settings.sms.provider {
            SmsProvider::Twilio => twilio.clone(),
            SmsProvider::Aliyun => Arc::new(Aliyun::from_settings(&settings)),
        };
        // The voice provider, and Twilio's webhooks (its texts, when it sends them).
        let (telephony, wires): (Arc<dyn Telephony>, Vec<Arc<dyn Wire>>) = match settings.provider {
            Provider::Twilio => (twilio.clone(), vec![twilio.clone()]),
            Provider::Jambonz => {
                let jambonz = Arc::new(Jambonz::from_settings(&settings, key));
                (jambonz.clone(), vec![jambonz, twilio.clone()])
            }
        };
        let voice = Voice::from_settings(&settings.speech)?;
        let asr = match settings.whisper.remote {
            true => {
                tracing::info!("speech input is on: recognised by `hotline worker` processes through Redis");
                Some(Asr::Remote(crate::asr::remote::Remote::new(kv.clone())))
            }
            false => load_local(&settings, telephony.clone()).map(Asr::Local),
        };
        Ok(Self {
            asr,
            voice: Arc::new(voice),
            settings: Arc::new(settings),
            db,
            kv,
            telephony,
            messaging,
            wires,
            prompts: Arc::new(prompts),
            flow: Arc::new(flow),
            metrics: crate::meters::handle(),
            tasks: TaskTracker::new(),
        })
    }
}

/// The database and Redis alone: what `roster`, `queue` and `migrate` need. Opening them loads
/// neither the voice nor the Whisper model.
pub struct Stores {
    pub db: Db,
    pub kv: Arc<Kv>,
}

impl Stores {
    /// Connected on first use, like [`AppState::new`].
    pub fn open(settings: &Settings) -> Result<Self, AppError> {
        Self::with_key(settings, data_key(settings)?)
    }

    fn with_key(settings: &Settings, key: DataKey) -> Result<Self, AppError> {
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
        Ok(Self { db, kv: Arc::new(kv) })
    }
}

/// The Whisper model, or None (keypad-only) with the reason in the log.
pub fn load_local(settings: &Settings, telephony: Arc<dyn Telephony>) -> Option<Local> {
    let w = &settings.whisper;
    if w.model.is_empty() {
        tracing::warn!("speech input is off (whisper.model is empty): the IVR runs keypad-only");
        return None;
    }
    match Recogniser::load(std::path::Path::new(&w.model), Pool::from_settings(w)) {
        Ok(recogniser) => {
            tracing::info!(model = %w.model, workers = w.workers, "speech input is on");
            let recordings = Recordings {
                telephony,
                hosts: w.recording_hosts(),
                max_bytes: w.max_recording_bytes,
            };
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
