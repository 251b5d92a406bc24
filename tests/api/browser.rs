//! The console in a real browser: `tests/browser/console.mjs` drives Debian's headless Chromium
//! through a lawyer's shift (sign in → on duty → claim → play the recording → call back → note →
//! SMS → close) on a case with a legal-aid application and a recording, checks
//! every page with axe-core, keeps screenshots in `target/browser/`, and validates the OpenAPI
//! document. This test prepares the service and checks what the clicks did to the database and
//! the provider. Without Chromium or the npm packages (`scripts/test` installs both) it is
//! skipped with a notice, except in CI, where it must run.

use std::path::Path;
use std::process::Command;

use hotline::domain::legal_aid::{assess, Screening};
use hotline::domain::{Matter, Role};
use hotline::storage::applications::NewApplication;

use crate::desk::desk;
use crate::helpers::{Backend, PASSWORD};

crate::backends!(a_lawyer_works_a_case_in_the_browser);

fn ready() -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<&str> = [
        (!Path::new(&chromium).exists()).then_some("chromium"),
        (!Path::new("tests/browser/node_modules/playwright-core").exists()).then_some("npm packages in tests/browser"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the browser test; missing: {missing:?}"
    );
    eprintln!("NOTICE: browser test skipped, missing {missing:?} (scripts/test installs them)");
    false
}

async fn a_lawyer_works_a_case_in_the_browser(backend: Backend) {
    if !ready() {
        return;
    }
    let d = desk(backend).await;
    let db = &d.app.state.db;
    let url = d.app.provider.add_recording(crate::helpers::tone_wav(8000, 0.5, 440.0));
    db.add_recording(&d.consultation, "CA1", "description", url, 1)
        .await
        .unwrap();
    db.set_transcript(&d.consultation, url, "老板拖欠了三个月工资。")
        .await
        .unwrap();
    let wages = Screening {
        matter: Some(Matter::LabourAndWages),
        no_fixed_income: true,
        ..Default::default()
    };
    db.record_application(&NewApplication {
        origin_key: "test:browser:apply",
        consultation_id: &d.consultation,
        certificate: None,
        prefecture: Some("610100"),
        county: Some("610104"),
        matter: Some("labour_wages"),
        answers: vec!["no_fixed_income"],
        assessment: &assess(&wages),
    })
    .await
    .unwrap();
    let artifacts = format!("target/browser/{backend:?}").to_lowercase();
    let base = d.app.url("");
    let ticket = d.ticket.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("tests/browser/console.mjs")
            .env("BASE_URL", base.trim_end_matches('/'))
            .env("LAWYER", "zhang")
            .env("SUPERVISOR", "sup")
            .env("ADMIN", "admin")
            .env("PASSWORD", PASSWORD)
            .env("TICKET", ticket)
            .env("ARTIFACTS", artifacts)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "browser run failed:\n{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(report["openapi"], "valid");
    let pages = report["pages"].as_array().unwrap();
    assert!(pages.len() >= 10, "{report}");
    assert!(
        pages
            .iter()
            .all(|p| p["violations"] == 0 && p["passes"].as_u64() > Some(10)),
        "{report}"
    );
    // What the clicks did.
    let c = d.app.consultation(&d.ticket).await;
    assert_eq!(c.status.as_str(), "closed");
    let closing = d.app.state.db.closing_of(&c.id).await.unwrap().unwrap();
    assert_eq!(
        closing.service_form,
        hotline::domain::ServiceForm::LabourMediationArbitration
    );
    let notes = d.app.state.db.notes_of(&c.id).await.unwrap();
    assert_eq!(notes[0].body, "来电人被拖欠三个月工资，已建议申请劳动仲裁。");
    let requests = d.app.provider.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/Calls.json") && r.get("To") == Some("+8613800000001")),
        "the lawyer's phone was called: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/Messages.json") && r.get("To") == Some("+8613900000077")),
        "the SMS went to the caller"
    );
    let trail = d.app.state.db.audit_trail(&c.id).await.unwrap();
    for action in [
        "callback.claim",
        "case.read",
        "recording.play",
        "case.call_back",
        "case.note",
        "case.sms",
        "case.close",
    ] {
        assert!(trail.iter().any(|r| r.action == action), "{action} audited: {trail:?}");
    }
    let supervisor = d.app.state.db.user_by_username("sup").await.unwrap().unwrap();
    assert_eq!(supervisor.role, Role::Supervisor);
    assert!(trail
        .iter()
        .any(|r| r.action == "case.read" && r.user_id == supervisor.id));
    // The admin signed the supervisor out everywhere, from the accounts page.
    let admin = d.app.state.db.user_by_username("admin").await.unwrap().unwrap();
    let signed_out = d.app.state.db.audit_trail(&supervisor.id).await.unwrap();
    assert!(
        signed_out
            .iter()
            .any(|r| r.action == "account.sign_out" && r.user_id == admin.id),
        "{signed_out:?}"
    );
    d.app.stop().await;
}
