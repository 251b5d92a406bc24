//! A legal-aid application's answers reach the lawyer: on the case page and in the JSON case
//! file as Chinese label/value pairs, and the whispered summary before a callback says when the
//! person is detained.

use hotline::domain::legal_aid::{assess, Screening};
use hotline::domain::roster::parse_csv;
use hotline::domain::{Channel, DisabilityCertificate, Matter, PhoneNumber, Role};
use hotline::routing::queue::Waiting;
use hotline::routing::CallbackQueue;
use hotline::storage::applications::NewApplication;
use hotline::storage::consultations::{Details, NewConsultation};
use reqwest::Method;
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::{spawn_app, Backend, TestApp, ACCOUNT_SID, HOTLINE_NUMBER};
use crate::provider::{pairs, post_signed};

backends!(the_answers_are_on_the_case_page_and_detention_in_the_whisper);

const ROSTER: &str = "name,phone,skills,regions,max_cases,shifts,exceptions
刘强,+8613800000003,criminal;labour_wages,610100,3,mon-sun 00:00-24:00,
";

/// A consultation of this caller with an application of these answers; returns its ticket.
async fn applied(app: &TestApp, caller: &str, origin: &str, screening: &Screening, yes: &[&str]) -> String {
    let db = &app.state.db;
    let (c, _) = db
        .open_consultation(&NewConsultation {
            origin_key: origin,
            caller_id: caller,
            call_sid: None,
            channel: Channel::Voice,
        })
        .await
        .unwrap();
    let matter = screening.matter.map(Matter::as_str);
    db.add_details(
        &c.id,
        &Details {
            matter,
            prefecture: Some("610100"),
            county: Some("610113"),
        },
    )
    .await
    .unwrap();
    let assessment = assess(screening);
    db.record_application(&NewApplication {
        origin_key: &format!("{origin}:apply"),
        consultation_id: &c.id,
        certificate: screening.certificate.as_ref(),
        prefecture: Some("610100"),
        county: Some("610113"),
        matter,
        answers: yes.to_vec(),
        assessment: &assessment,
    })
    .await
    .unwrap();
    db.raise_priority(&c.id, assessment.priority, assessment.urgent)
        .await
        .unwrap();
    let c = db.consultation_by_id(&c.id).await.unwrap().unwrap();
    CallbackQueue::new(&app.state.kv)
        .enqueue(&Waiting::of(&c))
        .await
        .unwrap();
    c.ticket.as_str().to_owned()
}

/// The value shown beside the label that contains `words`.
fn answer<'a>(file: &'a Value, words: &str) -> &'a str {
    file["answers"]
        .as_array()
        .unwrap_or_else(|| panic!("no answers in {file}"))
        .iter()
        .find(|a| a["label"].as_str().unwrap().contains(words))
        .and_then(|a| a["value"].as_str())
        .unwrap_or_else(|| panic!("no answer about {words} in {}", file["answers"]))
}

async fn the_answers_are_on_the_case_page_and_detention_in_the_whisper(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = &app.state.db;
    db.import_roster(&parse_csv(ROSTER).unwrap()).await.unwrap();
    let lawyer = db.lawyers().await.unwrap().remove(0);
    let token = app.staff("liu", Role::Lawyer, Some(&lawyer.id)).await;
    let caller = db
        .upsert_caller(&PhoneNumber::parse("+8613900000088").unwrap())
        .await
        .unwrap();
    // An earlier wage claim: no certificate, no fixed income, 低保.
    let wages = Screening {
        matter: Some(Matter::LabourAndWages),
        no_fixed_income: true,
        receives_assistance: true,
        ..Default::default()
    };
    let earlier = applied(
        &app,
        &caller,
        "test:wages",
        &wages,
        &["no_fixed_income", "receives_assistance"],
    )
    .await;
    // Now a deaf defendant in detention, with a deadline.
    let detained = Screening {
        matter: Some(Matter::Criminal),
        certificate: Some(DisabilityCertificate::parse("11010519491231002X21").unwrap()),
        detained_or_on_trial: true,
        deadline_within_7_days: true,
        ..Default::default()
    };
    let ticket = applied(
        &app,
        &caller,
        "test:criminal",
        &detained,
        &["deadline_within_7_days", "detained_or_on_trial"],
    )
    .await;
    let (status, _) = app
        .api(Method::PUT, "/duty", &token, Some(json!({"on_duty": true})))
        .await;
    assert_eq!(status, 200);
    let (status, offer) = app.api(Method::POST, "/queue/claim", &token, None).await;
    assert_eq!(
        (status, offer["ticket"].as_str()),
        (reqwest::StatusCode::OK, Some(ticket.as_str())),
        "{offer}"
    );

    // The JSON case file: every answer as a Chinese label and value.
    let (status, file) = app
        .api(Method::GET, &format!("/consultations/{ticket}"), &token, None)
        .await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(answer(&file, "事项"), "刑事案件");
    assert_eq!(answer(&file, "地区"), "西安市雁塔区");
    assert_eq!(answer(&file, "残疾人证"), "听力残疾一级");
    assert_eq!(answer(&file, "羁押"), "是");
    assert_eq!(answer(&file, "7天"), "是");
    assert_eq!(answer(&file, "证据"), "否");
    assert_eq!(answer(&file, "紧急"), "是");
    for a in file["answers"].as_array().unwrap() {
        let text = format!("{}{}", a["label"], a["value"]);
        assert!(!text.bytes().any(|b| b.is_ascii_alphabetic()), "no raw codes: {text}");
    }
    let (_, wage_file) = app
        .api(Method::GET, &format!("/consultations/{earlier}"), &token, None)
        .await;
    assert_eq!(answer(&wage_file, "残疾人证"), "未提供");
    assert_eq!(answer(&wage_file, "固定收入"), "是");
    assert_eq!(answer(&wage_file, "低保"), "是");
    assert_eq!(answer(&wage_file, "农民工"), "否");
    assert_eq!(answer(&wage_file, "紧急"), "否");

    // The case page shows the same pairs.
    let cookie = app.sign_in("liu").await;
    let page = app
        .http
        .get(app.url(&format!("/console/cases/{ticket}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for a in file["answers"].as_array().unwrap() {
        let (label, value) = (a["label"].as_str().unwrap(), a["value"].as_str().unwrap());
        let at = page
            .find(label)
            .unwrap_or_else(|| panic!("{label} on the page: {page}"));
        assert!(page[at..].contains(value), "{label}: {value}");
    }

    // Calling back: the whisper the lawyer hears says the person is detained.
    let (status, called) = app
        .api(
            Method::POST,
            &format!("/consultations/{ticket}/call-back"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{called}");
    let assignment = called["assignment"].as_str().unwrap();
    let a = db.assignment(assignment).await.unwrap().unwrap();
    let sid = a.lawyer_call_sid.expect("the lawyer was called");
    let params = pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", &sid),
        ("CallStatus", "in-progress"),
        ("Direction", "outbound-api"),
        ("From", HOTLINE_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ]);
    let reply = post_signed(&app, &format!("/twilio/callback/lawyer?a={assignment}"), &params, &[]).await;
    let xml = reply.assert_twiml();
    assert!(xml.contains("事项：刑事案件"), "{xml}");
    assert!(xml.contains("被羁押"), "detention in the whisper: {xml}");
    app.stop().await;
}
