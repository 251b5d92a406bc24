//! Recording retention: recordings older than `jobs.recording_retention_days` are deleted at the
//! provider (REST DELETE, with the account's credentials) and marked in SQL; younger ones and
//! transcripts stay; a second run deletes nothing again; a recording the provider no longer has
//! counts as deleted.

use chrono::{Duration, Utc};
use hotline::domain::Channel;
use hotline::jobs::retention::purge;
use hotline::storage::consultations::NewConsultation;

use crate::backends;
use crate::helpers::{spawn_app, Backend};

backends!(recordings_past_their_retention_are_deleted_at_the_provider);

async fn recordings_past_their_retention_are_deleted_at_the_provider(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = &app.state.db;
    let phone = hotline::domain::PhoneNumber::parse("+8613900000055").unwrap();
    let caller = db.upsert_caller(&phone).await.unwrap();
    let (c, _) = db
        .open_consultation(&NewConsultation {
            origin_key: "test:retention",
            caller_id: &caller,
            call_sid: Some("CA1"),
            channel: Channel::Voice,
        })
        .await
        .unwrap();
    let old = app.provider.add_recording(vec![1, 2, 3]);
    let gone = app.provider.add_recording(vec![4]);
    let young = app.provider.add_recording(vec![5, 6]);
    for url in [old, gone, young] {
        assert!(db
            .add_recording(&c.id, "CA1", "description", url, 12)
            .await
            .unwrap()
            .is_some());
    }
    db.set_transcript(&c.id, old, "老板拖欠工资").await.unwrap();
    // 100 and 95 days old; the default retention is 90 days.
    for (url, days) in [(old, 100), (gone, 95)] {
        let at = (Utc::now() - Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query("UPDATE recordings SET created_at = $1 WHERE url = $2")
            .bind(at)
            .bind(url)
            .execute(db.pool())
            .await
            .unwrap();
    }
    // The provider lost one already: its 404 counts as deleted.
    let (_, gone_sid) = gone.rsplit_once('/').unwrap();
    app.http
        .delete(format!(
            "{}/2010-04-01/Accounts/x/Recordings/{gone_sid}.json",
            app.provider.base
        ))
        .send()
        .await
        .unwrap();
    let before = app.provider.requests().len();

    assert_eq!(purge(&app.state, Utc::now()).await.unwrap(), 2);
    let deletes: Vec<_> = app.provider.requests().into_iter().skip(before).collect();
    assert_eq!(deletes.len(), 2, "{deletes:?}");
    assert!(deletes.iter().all(|r| r.basic_auth_ok && r.path.ends_with(".json")));
    assert!(!app.provider.has_recording(old));
    assert!(app.provider.has_recording(young), "a younger recording is kept");
    let rows = db.recordings_of(&c.id).await.unwrap();
    let by_url = |url: &str| rows.iter().find(|r| r.url == url).unwrap().clone();
    assert!(by_url(old).deleted_at.is_some() && by_url(gone).deleted_at.is_some());
    assert!(by_url(young).deleted_at.is_none());
    assert_eq!(
        by_url(old).transcript.as_deref(),
        Some("老板拖欠工资"),
        "the transcript stays"
    );

    // Nothing left to do: no request.
    assert_eq!(purge(&app.state, Utc::now()).await.unwrap(), 0);
    assert_eq!(app.provider.requests().len(), before + 2);
    // 91 days later the young one goes too.
    assert_eq!(purge(&app.state, Utc::now() + Duration::days(91)).await.unwrap(), 1);
    assert!(!app.provider.has_recording(young));
    app.stop().await;
}
