//! `hotline simulate`: plays the telephony provider against a running server. It signs every
//! webhook with the configured auth token exactly as Twilio does, follows the TwiML it gets
//! back, prints what the caller would hear, and takes the caller's part from the keyboard or
//! from a script file.
//!
//! Script lines (also typed at the prompt): `press 1` (keys; a number needs no `#`), `wait`
//! (say nothing until the timeout), `say URL` (speak at a recording prompt: the provider posts
//! this recording URL), `dial completed|no-answer|busy` (how a transfer ends), `hangup`. Blank
//! lines and lines starting with `//` are skipped.

pub mod twiml;

use std::fmt;

use twiml::Verb;

use crate::providers::twilio::Validator;

/// What the caller does where the call waits for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Press(String),
    Wait,
    Say(String),
    Dial(String),
    Hangup,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("line {line}: {problem}")]
    Script { line: usize, problem: String },
    #[error("the server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{path} answered {status}: {body}")]
    Status { path: String, status: u16, body: String },
    #[error("{path} answered Content-Type {content_type}, not text/xml")]
    NotTwiml { path: String, content_type: String },
    #[error("{0}")]
    Twiml(#[from] twiml::TwimlError),
    #[error("the call waits for {wanted} but the script says {got:?}")]
    Unexpected { wanted: &'static str, got: Step },
}

impl Step {
    pub fn parse(line: &str) -> Result<Option<Step>, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            return Ok(None);
        }
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let step = match (word, rest) {
            ("press", keys) if !keys.is_empty() && keys.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') => {
                // A number ends with # (the provider does not report it); # alone is a key.
                match keys.strip_suffix('#') {
                    Some(number) if !number.is_empty() => Step::Press(number.to_owned()),
                    _ => Step::Press(keys.to_owned()),
                }
            }
            ("wait", "") => Step::Wait,
            ("say", url) if !url.is_empty() => Step::Say(url.to_owned()),
            ("dial", status) if ["completed", "no-answer", "busy", "failed"].contains(&status) => {
                Step::Dial(status.to_owned())
            }
            ("hangup", "") => Step::Hangup,
            _ => {
                return Err(format!(
                    "`{line}` is not press KEYS, wait, say URL, dial STATUS or hangup"
                ))
            }
        };
        Ok(Some(step))
    }
}

/// Reads a whole script, naming the first bad line.
pub fn parse_script(text: &str) -> Result<Vec<Step>, SimulateError> {
    let mut steps = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match Step::parse(line) {
            Ok(Some(step)) => steps.push(step),
            Ok(None) => {}
            Err(problem) => return Err(SimulateError::Script { line: i + 1, problem }),
        }
    }
    Ok(steps)
}

/// What the caller heard or saw happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Say(String),
    Play(String),
    Dial(String),
    Hangup,
}

impl fmt::Display for Heard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Heard::Say(text) => write!(f, "🔊 {text}"),
            Heard::Play(url) => write!(f, "🔊 (audio) {url}"),
            Heard::Dial(number) => write!(f, "☎  dialling {number}"),
            Heard::Hangup => write!(f, "— the service hung up"),
        }
    }
}

/// Where the caller is asked for something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    Keys,
    Recording,
    Dial,
}

pub struct Call {
    http: reqwest::Client,
    base: String,
    signer: Validator,
    params: Vec<(String, String)>,
}

impl Call {
    /// A call to the server at `base` (its public URL, which signatures cover).
    pub fn new(base: &str, auth_token: &str, account_sid: &str, from: &str, to: &str) -> Self {
        let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
        let params = [
            ("AccountSid", account_sid),
            ("ApiVersion", "2010-04-01"),
            ("CallSid", &call_sid),
            ("CallStatus", "in-progress"),
            ("Direction", "inbound"),
            ("From", from),
            ("Caller", from),
            ("To", to),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            signer: Validator::new(auth_token),
            params,
        }
    }

    /// Runs the call: `next` is asked for the caller's part each time the call waits, and
    /// `heard` told everything the caller hears. Ends when the service hangs up or `next`
    /// gives `Hangup` or nothing; then the status callback says the call completed.
    pub async fn run(
        &self,
        mut next: impl FnMut(Waiting) -> Option<Step>,
        mut heard: impl FnMut(Heard),
    ) -> Result<(), SimulateError> {
        let mut request = Some((format!("{}/twilio/voice", self.base), Vec::new()));
        'call: while let Some((url, extra)) = request.take() {
            let verbs = twiml::parse(&self.post(&url, &extra).await?)?;
            let mut pending: Option<Step> = None;
            for verb in verbs {
                match verb {
                    Verb::Say(text) => heard(Heard::Say(text)),
                    Verb::Play(url) => heard(Heard::Play(url)),
                    Verb::Pause | Verb::Message(_) => {}
                    Verb::Gather {
                        action,
                        on_empty,
                        prompts,
                    } => {
                        for p in prompts {
                            match p {
                                Verb::Say(text) => heard(Heard::Say(text)),
                                Verb::Play(url) => heard(Heard::Play(url)),
                                _ => {}
                            }
                        }
                        let step = match pending.take().or_else(|| next(Waiting::Keys)) {
                            Some(step) => step,
                            // The caller says nothing more: a Gather that only reports keys
                            // goes on to the next verb (a closing's hang-up), as at Twilio.
                            None if !on_empty => continue,
                            None => break 'call,
                        };
                        match step {
                            Step::Press(keys) => {
                                request = Some((action, vec![("Digits".into(), keys)]));
                                break;
                            }
                            Step::Wait if on_empty => {
                                request = Some((action, vec![("Digits".into(), String::new())]));
                                break;
                            }
                            // Nothing pressed at a Gather that only reports keys: on to the
                            // next verb (the recording after a recording prompt).
                            Step::Wait | Step::Say(_) if !on_empty => pending = Some(step),
                            Step::Hangup => break 'call,
                            other => {
                                return Err(SimulateError::Unexpected {
                                    wanted: "keys",
                                    got: other,
                                })
                            }
                        }
                    }
                    Verb::Record { action } => match pending.take().or_else(|| next(Waiting::Recording)) {
                        Some(Step::Say(recording)) => {
                            let form = vec![
                                ("RecordingUrl".into(), recording),
                                ("RecordingDuration".into(), "5".into()),
                                ("RecordingSid".into(), format!("RE{}", uuid::Uuid::new_v4().simple())),
                                ("Digits".into(), "#".into()),
                            ];
                            request = Some((action, form));
                            break;
                        }
                        Some(Step::Press(keys)) => {
                            request = Some((action, vec![("Digits".into(), keys)]));
                            break;
                        }
                        Some(Step::Wait) => {}
                        Some(Step::Hangup) | None => break 'call,
                        Some(other) => {
                            return Err(SimulateError::Unexpected {
                                wanted: "speech",
                                got: other,
                            })
                        }
                    },
                    Verb::Dial { number, action } => {
                        heard(Heard::Dial(number));
                        let status = match next(Waiting::Dial) {
                            Some(Step::Dial(status)) => status,
                            Some(Step::Hangup) | None => break 'call,
                            Some(other) => {
                                return Err(SimulateError::Unexpected {
                                    wanted: "a dial result",
                                    got: other,
                                })
                            }
                        };
                        if let Some(action) = action {
                            request = Some((action, vec![("DialCallStatus".into(), status)]));
                        }
                        break;
                    }
                    Verb::Redirect(url) => {
                        request = Some((url, Vec::new()));
                        break;
                    }
                    Verb::Hangup => {
                        heard(Heard::Hangup);
                        break 'call;
                    }
                }
            }
        }
        let status = [("CallStatus".to_owned(), "completed".to_owned())];
        self.post(&format!("{}/twilio/voice/status", self.base), &status)
            .await?;
        Ok(())
    }

    /// Posts a signed webhook; the answer must be TwiML.
    async fn post(&self, url: &str, extra: &[(String, String)]) -> Result<String, SimulateError> {
        let mut params = self.params.clone();
        for (k, v) in extra {
            match params.iter_mut().find(|(name, _)| name == k) {
                Some(existing) => existing.1 = v.clone(),
                None => params.push((k.clone(), v.clone())),
            }
        }
        let signature = self.signer.sign_form(url, &params);
        let response = self
            .http
            .post(url)
            .header(crate::providers::twilio::SIGNATURE_HEADER, signature)
            .form(&params)
            .send()
            .await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await?;
        let path = url.strip_prefix(&self.base).unwrap_or(url).to_owned();
        if status != 200 {
            return Err(SimulateError::Status { path, status, body });
        }
        if !content_type.starts_with("text/xml") {
            return Err(SimulateError::NotTwiml { path, content_type });
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_read_and_bad_lines_named() {
        let steps = parse_script(
            "// a call\npress 2\n\npress 11010519491231002*11#\nwait\nsay https://r/1\ndial no-answer\nhangup\n",
        )
        .unwrap();
        assert_eq!(
            steps,
            [
                Step::Press("2".into()),
                Step::Press("11010519491231002*11".into()),
                Step::Wait,
                Step::Say("https://r/1".into()),
                Step::Dial("no-answer".into()),
                Step::Hangup
            ]
        );
        let err = parse_script("press 1\npush 2\n").unwrap_err().to_string();
        assert!(err.starts_with("line 2: `push 2`"), "{err}");
    }
}
