//! `hotline simulate` against a running service: its signed webhooks are accepted, it follows
//! the TwiML (recording prompts included), and a scripted call ends with a ticket. A broken flow
//! file stops start-up naming the problem.

use hotline::simulate::{parse_script, Call, Heard};

use crate::backends;
use crate::helpers::{spawn_app, Backend, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::provider::ticket_from_speech;

backends!(a_scripted_call_walks_the_consult_flow);

async fn a_scripted_call_walks_the_consult_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let script = "// consult, the second page of matters, a message\npress 1\npress 4\npress 2\nwait\nsay https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9\n";
    let mut steps = parse_script(script).unwrap().into_iter();
    let call = Call::new(
        &app.public_url,
        &app.auth_token,
        ACCOUNT_SID,
        "+8613800138020",
        HOTLINE_NUMBER,
    );
    let mut heard = Vec::new();
    call.run(|_| steps.next(), |h| heard.push(h))
        .await
        .expect("the call runs");
    let said: String = heard
        .iter()
        .filter_map(|h| match h {
            Heard::Say(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(said.contains("人身损害和交通事故，请按2。"), "{said}");
    assert!(said.contains("没有听到您说话"), "{said}");
    assert_eq!(heard.last(), Some(&Heard::Hangup));
    let c = app.consultation(&ticket_from_speech(&said)).await;
    assert_eq!(c.matter.as_deref(), Some("personal_injury_traffic"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM calls WHERE status = 'completed'").await,
        1
    );

    // A forged signature is refused: the simulator's are real.
    let forged = Call::new(
        &app.public_url,
        "not-the-token",
        ACCOUNT_SID,
        "+8613800138021",
        HOTLINE_NUMBER,
    );
    let err = forged.run(|_| None, |_| {}).await.unwrap_err().to_string();
    assert!(err.contains("403"), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn a_broken_flow_file_stops_start_up_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow.toml");
    let shipped = std::fs::read_to_string("config/flows/main.toml").unwrap();
    std::fs::write(
        &file,
        shipped.replace("prompt = \"ask_ticket\"", "prompt = \"ask_tikcet\""),
    )
    .unwrap();
    let mut settings = hotline::config::Settings::defaults();
    settings.ivr.flow_file = file.display().to_string();
    settings.data_dir = dir.path().to_owned();
    let err = hotline::app::AppState::new(settings)
        .err()
        .expect("start-up refused")
        .to_string();
    assert!(
        err.contains("flow.toml: node `progress_ticket`: unknown prompt key `ask_tikcet`"),
        "{err}"
    );
}
