//! Playing a caller's recording on the case page: the console and the API stream it from the
//! provider (with the account's credentials) to those who may see the case, audited, with
//! byte ranges so a lawyer can seek; a recording deleted by retention is not offered.

use chrono::{Duration, Utc};
use hotline::jobs::retention::purge;
use reqwest::{Method, StatusCode};

use crate::backends;
use crate::desk::{desk, sign_in, Desk};
use crate::helpers::{tone_wav, Backend};

backends!(
    a_lawyer_plays_a_recording_and_seeks_in_it,
    a_recording_deleted_by_retention_is_not_offered,
);

/// Adds a recording with its transcript to the desk's case; returns its id from the case file
/// (as 张明, who claims the case first) and the audio the provider keeps.
async fn recording(d: &Desk, purpose: &str, transcript: &str) -> (String, Vec<u8>) {
    let wav = tone_wav(8000, 0.5, 440.0);
    let url = d.app.provider.add_recording(wav.clone());
    let db = &d.app.state.db;
    assert!(db
        .add_recording(&d.consultation, "CA1", purpose, url, 1)
        .await
        .unwrap()
        .is_some());
    db.set_transcript(&d.consultation, url, transcript).await.unwrap();
    let (status, file) = d
        .api(Method::GET, &format!("/consultations/{}", d.ticket), &d.zhang, None)
        .await;
    assert_eq!(status, 200, "{file}");
    let id = file["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["transcript"] == transcript)
        .and_then(|r| r["id"].as_str())
        .expect("the recording in the case file, with its id")
        .to_owned();
    (id, wav)
}

async fn get(d: &Desk, path: &str, auth: (&str, &str), range: Option<&str>) -> reqwest::Response {
    let mut request = d.browser.get(d.app.url(path));
    if !auth.1.is_empty() {
        request = request.header(auth.0, auth.1);
    }
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn plays(d: &Desk) -> i64 {
    d.app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'recording.play'")
        .await
}

async fn a_lawyer_plays_a_recording_and_seeks_in_it(backend: Backend) {
    let d = desk(backend).await;
    d.zhang_claims().await;
    let t = &d.ticket;
    let (id, wav) = recording(&d, "description", "老板拖欠工资三个月").await;
    let (_, file) = d.api(Method::GET, &format!("/consultations/{t}"), &d.zhang, None).await;
    assert_eq!(file["recordings"][0]["label"], "问题描述录音", "{file}");

    // The page: a player with a Chinese label, the transcript below it, no English purpose.
    let (cookie, _) = sign_in(&d, "zhang").await;
    let session = ("cookie", cookie.as_str());
    let page = get(&d, &format!("/console/cases/{t}"), session, None)
        .await
        .text()
        .await
        .unwrap();
    let src = format!("/console/cases/{t}/recordings/{id}");
    assert!(page.contains("<audio controls"), "{page}");
    assert!(page.contains(&format!("src=\"{src}\"")), "{page}");
    let label = page.find("问题描述录音").expect("the player's label");
    let transcript = page.find("老板拖欠工资三个月").expect("the transcript");
    assert!(label < transcript, "the transcript below the player");
    assert!(!page.contains("description"), "no raw purpose code: {page}");

    // The whole recording, as the provider serves it, through the console session.
    let before = plays(&d).await;
    let whole = get(&d, &src, session, None).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(header(&whole, "content-type"), "audio/x-wav");
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert_eq!(header(&whole, "content-length"), wav.len().to_string());
    assert_eq!(whole.bytes().await.unwrap().as_ref(), wav.as_slice());
    // Seeking: a range, an open end, a suffix.
    let len = wav.len();
    for (range, from, to) in [
        ("bytes=100-199", 100, 199),
        ("bytes=4000-", 4000, len - 1),
        ("bytes=-10", len - 10, len - 1),
        (&*format!("bytes=10-{}", len + 500), 10, len - 1),
    ] {
        let part = get(&d, &src, session, Some(range)).await;
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&part, "content-range"),
            format!("bytes {from}-{to}/{len}"),
            "{range}"
        );
        assert_eq!(header(&part, "content-type"), "audio/x-wav");
        assert_eq!(part.bytes().await.unwrap().as_ref(), &wav[from..=to], "{range}");
    }
    let past = get(&d, &src, session, Some(&format!("bytes={len}-"))).await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&past, "content-range"), format!("bytes */{len}"));
    // The same through the JSON API with a bearer token.
    let api = format!("/api/v1/consultations/{t}/recordings/{id}");
    let bearer = format!("Bearer {}", d.zhang);
    let part = get(&d, &api, ("authorization", &bearer), Some("bytes=0-43")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &wav[..44], "the WAV header");
    // Every play is audited, as the lawyer's.
    assert_eq!(plays(&d).await, before + 7);
    let zhang = d.app.state.db.user_by_username("zhang").await.unwrap().unwrap();
    let trail = d.app.state.db.audit_trail(&d.consultation).await.unwrap();
    assert!(trail
        .iter()
        .any(|r| r.action == "recording.play" && r.user_id == zhang.id));

    // Only those who may see the case may hear it.
    let before = plays(&d).await;
    for token in [&d.li, &d.other_supervisor] {
        let refused = get(&d, &api, ("authorization", &format!("Bearer {token}")), None).await;
        assert_eq!(refused.status(), 403);
    }
    assert_eq!(get(&d, &api, ("authorization", ""), None).await.status(), 401);
    let (li, _) = sign_in(&d, "lihua").await;
    assert_eq!(get(&d, &src, ("cookie", &li), None).await.status(), 403);
    assert_eq!(
        get(&d, &src, ("cookie", ""), None).await.status(),
        303,
        "to the sign-in page"
    );
    assert_eq!(plays(&d).await, before, "refused requests play nothing");
    let supervisor = get(&d, &api, ("authorization", &format!("Bearer {}", d.supervisor)), None).await;
    assert_eq!(supervisor.status(), 200, "the prefecture's supervisor");
    // A recording is found only under its own case.
    let elsewhere = format!("/api/v1/consultations/{t}/recordings/not-a-recording");
    assert_eq!(
        get(&d, &elsewhere, ("authorization", &bearer), None).await.status(),
        404
    );
    d.app.stop().await;
}

async fn a_recording_deleted_by_retention_is_not_offered(backend: Backend) {
    let d = desk(backend).await;
    d.zhang_claims().await;
    let t = &d.ticket;
    let (id, _) = recording(&d, "note", "补充：老板电话是多少").await;
    assert_eq!(purge(&d.app.state, Utc::now() + Duration::days(91)).await.unwrap(), 1);
    let (cookie, _) = sign_in(&d, "zhang").await;
    let page = get(&d, &format!("/console/cases/{t}"), ("cookie", &cookie), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("补充说明录音"), "{page}");
    assert!(page.contains("录音已按保存期限删除"), "{page}");
    assert!(page.contains("补充：老板电话是多少"), "the transcript stays");
    assert!(!page.contains("<audio"), "no player for deleted audio: {page}");
    let api = format!("/api/v1/consultations/{t}/recordings/{id}");
    let gone = get(&d, &api, ("authorization", &format!("Bearer {}", d.zhang)), None).await;
    assert_eq!(gone.status(), 404);
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["error"]["message"], "录音已按保存期限删除");
    d.app.stop().await;
}
