//! One offer per lawyer at a time (issue 15): a lawyer who holds an offer gets that same offer
//! back from a claim, however many claims arrive at once (a double click, a double-submitted
//! console form, a script), and accepting it rings their phone once. Every test sends real
//! concurrent HTTP requests to the real server, released together by a barrier, for
//! [`ROUNDS`] rounds, then checks SQL: no lawyer holds two offers, no case is offered to two
//! lawyers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hotline::domain::roster::parse_csv;
use hotline::domain::{Channel, Role};
use hotline::routing::CallbackQueue;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::backends;
use crate::desk::waiting_case;
use crate::helpers::{spawn_app, Backend, TestApp};

const MIGRATION_SQLITE: &str = include_str!("../../migrations/sqlite/20261201000002_one_offer_per_lawyer.sql");
const MIGRATION_POSTGRES: &str = include_str!("../../migrations/postgres/20261201000002_one_offer_per_lawyer.sql");

backends!(
    a_lawyers_concurrent_claims_return_one_offer,
    many_lawyers_claiming_at_once_hold_one_offer_each,
    a_double_submitted_claim_form_reserves_one_case,
    accepting_twice_at_once_rings_the_lawyer_once,
    a_database_with_doubled_offers_still_migrates,
);

const ROUNDS: usize = 50;

/// A roster of `n` lawyers who all take labour cases in 西安, on duty all week.
fn roster(n: usize) -> String {
    let mut csv = String::from("name,phone,skills,regions,max_cases,shifts,exceptions\n");
    for i in 0..n {
        csv.push_str(&format!(
            "律师{i:02},{},labour_wages,610100,3,mon-sun 00:00-24:00,\n",
            phone(i)
        ));
    }
    csv
}

fn phone(lawyer: usize) -> String {
    format!("+86138000001{lawyer:02}")
}

struct Floor {
    app: TestApp,
    /// (roster id, API token), in roster order.
    lawyers: Vec<(String, String)>,
    cases: usize,
}

async fn floor(backend: Backend, n: usize) -> Floor {
    let app = spawn_app(backend).await;
    app.state
        .db
        .import_roster(&parse_csv(&roster(n)).unwrap())
        .await
        .unwrap();
    let records = app.state.db.lawyers().await.unwrap();
    let mut lawyers = Vec::new();
    for i in 0..n {
        let id = records
            .iter()
            .find(|l| l.name == format!("律师{i:02}"))
            .unwrap()
            .id
            .clone();
        let token = app.staff(&format!("lawyer{i}"), Role::Lawyer, Some(&id)).await;
        lawyers.push((id, token));
    }
    let f = Floor { app, lawyers, cases: 0 };
    for (_, token) in &f.lawyers {
        let (status, _) = f
            .app
            .api(Method::PUT, "/duty", token, Some(json!({"on_duty": true})))
            .await;
        assert_eq!(status, 200);
    }
    f
}

impl Floor {
    /// `n` new waiting labour cases in 西安; their consultation ids.
    async fn new_cases(&mut self, n: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for _ in 0..n {
            self.cases += 1;
            let c = waiting_case(
                &self.app,
                Channel::Voice,
                &format!("test:offers:{}", self.cases),
                &format!("+86139{:08}", self.cases),
            )
            .await;
            ids.push(c.id);
        }
        ids
    }

    /// Takes this round's cases out of the queue, so that cases a lawyer declined or let lapse
    /// do not pile up at the front of their queue.
    async fn clear(&self, cases: &[String]) {
        let queue = CallbackQueue::new(&self.app.state.kv);
        for id in cases {
            queue.remove(id).await.unwrap();
        }
    }

    /// Lawyers holding more than one offer in SQL right now.
    async fn lawyers_with_two_offers(&self) -> i64 {
        self.app
            .count(
                "SELECT COUNT(*) FROM (SELECT lawyer_id FROM assignments WHERE state = 'offered'
                 GROUP BY lawyer_id HAVING COUNT(*) > 1) t",
            )
            .await
    }

    /// Cases ever assigned (in any state) to more than one lawyer who has not let it go.
    async fn cases_with_two_lawyers(&self) -> i64 {
        self.app
            .count(
                "SELECT COUNT(*) FROM (SELECT consultation_id FROM assignments
                 WHERE state IN ('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected')
                 GROUP BY consultation_id HAVING COUNT(DISTINCT lawyer_id) > 1) t",
            )
            .await
    }

    async fn offers_of(&self, lawyer: &str) -> i64 {
        self.app
            .count(&format!(
                "SELECT COUNT(*) FROM assignments WHERE state = 'offered' AND lawyer_id = '{lawyer}'"
            ))
            .await
    }
}

/// Sends every request at the same moment (after a barrier); the answers in the same order.
async fn at_once(app: &TestApp, requests: Vec<(Method, String, String)>) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let mut tasks = Vec::new();
    for (method, path, token) in requests {
        let (http, url, barrier) = (app.http.clone(), app.url(&format!("/api/v1{path}")), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let request = http.request(method, url).bearer_auth(token);
            barrier.wait().await;
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn claims(token: &str, n: usize) -> Vec<(Method, String, String)> {
    (0..n)
        .map(|_| (Method::POST, "/queue/claim".to_owned(), token.to_owned()))
        .collect()
}

/// The assignment ids among claim answers (200 with an offer).
fn offered(answers: &[(StatusCode, Value)]) -> BTreeSet<String> {
    answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, offer)| offer["assignment"].as_str().unwrap().to_owned())
        .collect()
}

/// Lapses every offer now, the way the offers job does when their time is up.
async fn lapse_all(app: &TestApp) {
    let later = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let lapsed = CallbackQueue::new(&app.state.kv).expire_offers(later).await.unwrap();
    app.state.db.lapse_offers(&lapsed).await.unwrap();
}

/// One lawyer sends six claims at once, with two cases waiting: one offer, returned to all six.
/// The offer is declined (even rounds) or lapses (odd rounds), and the lawyer claims again.
async fn a_lawyers_concurrent_claims_return_one_offer(backend: Backend) {
    let mut f = floor(backend, 1).await;
    let (lawyer, token) = f.lawyers[0].clone();
    let (mut doubled, mut mixed) = (0, 0);
    for round in 0..ROUNDS {
        let cases = f.new_cases(2).await;
        let answers = at_once(&f.app, claims(&token, 6)).await;
        for (status, body) in &answers {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::NO_CONTENT,
                "{status} {body}"
            );
        }
        let ids = offered(&answers);
        if ids.len() != 1 || answers.iter().any(|(s, _)| *s != StatusCode::OK) {
            mixed += 1;
        }
        if f.offers_of(&lawyer).await > 1 {
            doubled += 1;
        }
        // A claim after the burst: still the same offer.
        let (status, again) = f.app.api(Method::POST, "/queue/claim", &token, None).await;
        assert_eq!(status, 200, "{again}");
        assert!(
            ids.contains(again["assignment"].as_str().unwrap()),
            "round {round}: {again}"
        );
        if round % 2 == 0 {
            for id in &ids {
                f.app
                    .api(Method::POST, &format!("/offers/{id}/decline"), &token, None)
                    .await;
            }
        } else {
            lapse_all(&f.app).await;
        }
        assert_eq!(f.offers_of(&lawyer).await, 0, "round {round}: the offer ended");
        f.clear(&cases).await;
    }
    assert_eq!(f.cases_with_two_lawyers().await, 0);
    assert_eq!(
        (doubled, mixed),
        (0, 0),
        "rounds (of {ROUNDS}) where the lawyer held two offers, and where the six claims did not all get the same one"
    );
    f.app.stop().await;
}

/// Ten lawyers send two claims each at once (20 at a time, 1,000 over the rounds) for eight
/// cases: eight lawyers hold one offer each, each lawyer's two claims answer the same, no case
/// is offered twice.
async fn many_lawyers_claiming_at_once_hold_one_offer_each(backend: Backend) {
    const LAWYERS: usize = 10;
    const CASES: usize = 8;
    let mut f = floor(backend, LAWYERS).await;
    let (mut doubled, mut split, mut total) = (0, 0, 0);
    for round in 0..ROUNDS {
        let cases = f.new_cases(CASES).await;
        let mut requests = Vec::new();
        for (_, token) in &f.lawyers {
            requests.extend(claims(token, 2));
        }
        total += requests.len();
        let answers = at_once(&f.app, requests).await;
        let mut per_lawyer: HashMap<usize, BTreeSet<String>> = HashMap::new();
        for (i, chunk) in answers.chunks(2).enumerate() {
            for (status, body) in chunk {
                assert!(
                    *status == StatusCode::OK || *status == StatusCode::NO_CONTENT,
                    "{status} {body}"
                );
            }
            if chunk[0].0 != chunk[1].0 || offered(chunk).len() > 1 {
                split += 1;
            }
            per_lawyer.insert(i, offered(chunk));
        }
        let two = f.lawyers_with_two_offers().await;
        doubled += two;
        assert_eq!(
            f.cases_with_two_lawyers().await,
            0,
            "round {round}: a case went to two lawyers"
        );
        if two == 0 {
            assert_eq!(
                f.app
                    .count("SELECT COUNT(*) FROM assignments WHERE state = 'offered'")
                    .await,
                CASES as i64,
                "round {round}: every case offered, one lawyer each"
            );
        }
        // Every holder passes (all at once), and the round's cases leave the queue.
        let mut declines = Vec::new();
        for (i, ids) in &per_lawyer {
            for id in ids {
                declines.push((Method::POST, format!("/offers/{id}/decline"), f.lawyers[*i].1.clone()));
            }
        }
        at_once(&f.app, declines).await;
        lapse_all(&f.app).await;
        f.clear(&cases).await;
    }
    assert!(total >= 1000, "{total} claims");
    assert_eq!(
        (doubled, split),
        (0, 0),
        "lawyers holding two offers (summed over {ROUNDS} rounds), and lawyers whose two claims answered differently"
    );
    f.app.stop().await;
}

/// The console's 领取下一个案件 form submitted twice at once (a double click): the same session
/// cookie and CSRF token, two POSTs; one case reserved, both answers lead to it.
async fn a_double_submitted_claim_form_reserves_one_case(backend: Backend) {
    let mut f = floor(backend, 1).await;
    let lawyer = f.lawyers[0].0.clone();
    let cookie = f.app.sign_in("lawyer0").await;
    let page = f.app.get_text("/console", Some(&cookie)).await;
    let csrf = crate::helpers::csrf_in(&page);
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (mut doubled, mut apart) = (0, 0);
    for round in 0..ROUNDS {
        let cases = f.new_cases(2).await;
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let request = browser
                .post(f.app.url("/console/claim"))
                .header("cookie", &cookie)
                .form(&[("csrf", csrf.as_str())]);
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.unwrap();
                let status = response.status();
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                (status, location)
            }));
        }
        let mut places = Vec::new();
        for t in tasks {
            let (status, location) = t.await.unwrap();
            assert_eq!(status, 303, "round {round}");
            assert!(location.starts_with("/console/cases/"), "round {round}: {location}");
            places.push(location.split('?').next().unwrap().to_owned());
        }
        if places[0] != places[1] {
            apart += 1;
        }
        if f.offers_of(&lawyer).await > 1 {
            doubled += 1;
        }
        // The offer's time runs out; the lawyer may claim again next round.
        lapse_all(&f.app).await;
        assert_eq!(f.offers_of(&lawyer).await, 0);
        f.clear(&cases).await;
    }
    assert_eq!(
        (doubled, apart),
        (0, 0),
        "rounds (of {ROUNDS}) where the double submit reserved two cases, and where the two answers led to different cases"
    );
    f.app.stop().await;
}

/// A double click on claim, then a double click on 回拨: whatever the claims answered is
/// accepted twice at once. The lawyer's phone is rung once; the case is closed for the next
/// round.
async fn accepting_twice_at_once_rings_the_lawyer_once(backend: Backend) {
    let mut f = floor(backend, 1).await;
    let (lawyer, token) = f.lawyers[0].clone();
    let lawyer_phone = phone(0);
    let rings = |app: &TestApp| {
        app.provider
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/Calls.json") && r.get("To") == Some(lawyer_phone.as_str()))
            .count()
    };
    let mut rung_twice = 0;
    for round in 0..ROUNDS {
        let cases = f.new_cases(2).await;
        let answers = at_once(&f.app, claims(&token, 2)).await;
        let ids: Vec<String> = answers
            .iter()
            .map(|(status, offer)| {
                assert_eq!(*status, 200, "round {round}: {offer}");
                offer["assignment"].as_str().unwrap().to_owned()
            })
            .collect();
        let before = rings(&f.app);
        let accepts = ids
            .iter()
            .map(|id| (Method::POST, format!("/offers/{id}/accept"), token.clone()))
            .collect();
        let answers = at_once(&f.app, accepts).await;
        let taken: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, offer)| offer)
            .collect();
        assert!(!taken.is_empty(), "round {round}: {answers:?}");
        for (status, body) in &answers {
            assert!(
                *status == StatusCode::OK || *status == StatusCode::CONFLICT,
                "round {round}: {status} {body}"
            );
        }
        let rung = rings(&f.app) - before;
        assert!(rung >= 1, "round {round}: the lawyer was rung");
        if rung > 1 {
            rung_twice += 1;
        }
        // Done with the cases taken: closed, the lawyer free again.
        let tickets: BTreeSet<&str> = taken.iter().map(|o| o["ticket"].as_str().unwrap()).collect();
        for ticket in tickets {
            let (status, body) = f
                .app
                .api(
                    Method::POST,
                    &format!("/consultations/{ticket}/close"),
                    &token,
                    Some(json!({"service_form": "legal_consultation", "outcome": "已解答"})),
                )
                .await;
            assert_eq!(status, 204, "round {round}: {body}");
        }
        lapse_all(&f.app).await;
        assert_eq!(f.offers_of(&lawyer).await, 0);
        f.clear(&cases).await;
    }
    assert_eq!(f.cases_with_two_lawyers().await, 0);
    assert_eq!(
        rung_twice, 0,
        "rounds (of {ROUNDS}) where the lawyer's phone rang twice"
    );
    f.app.stop().await;
}

/// A live database from before the index may hold doubled offers (the bug): the migration
/// lapses all but each lawyer's newest, then builds the index, which refuses a second offer.
async fn a_database_with_doubled_offers_still_migrates(backend: Backend) {
    let mut f = floor(backend, 2).await;
    let pool = f.app.state.db.pool().clone();
    // The database as it was: no index, and the doubled offers it let in.
    sqlx::query("DROP INDEX assignments_one_offer_per_lawyer")
        .execute(&pool)
        .await
        .unwrap();
    let cases = f.new_cases(3).await;
    let (l0, l1) = (f.lawyers[0].0.clone(), f.lawyers[1].0.clone());
    let rows = [
        ("a-old", &cases[0], &l0, "offered", "2026-11-30T08:00:00.000Z"),
        ("a-new-1", &cases[1], &l0, "offered", "2026-11-30T08:00:01.000Z"),
        ("a-new-2", &cases[2], &l0, "offered", "2026-11-30T08:00:01.000Z"),
        ("a-other", &cases[2], &l1, "offered", "2026-11-30T08:00:00.500Z"),
        ("a-done", &cases[0], &l1, "declined", "2026-11-30T07:00:00.000Z"),
    ];
    for (id, consultation, lawyer, state, at) in rows {
        sqlx::query(
            "INSERT INTO assignments (id, consultation_id, lawyer_id, state, attempt, offered_at, lapses_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, '2099-01-01T00:00:00.000Z', $5)",
        )
        .bind(id)
        .bind(consultation)
        .bind(lawyer)
        .bind(state)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    let migration = match backend {
        Backend::Sqlite => MIGRATION_SQLITE,
        Backend::Postgres => MIGRATION_POSTGRES,
    };
    sqlx::raw_sql(migration)
        .execute(&pool)
        .await
        .expect("the migration runs");
    let states = |id: &'static str| {
        let pool = pool.clone();
        async move {
            use sqlx::Row;
            let row = sqlx::query("SELECT state, ended_at FROM assignments WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
            let state: String = row.try_get("state").unwrap();
            let ended: Option<String> = row.try_get("ended_at").unwrap();
            (state, ended.is_some())
        }
    };
    assert_eq!(states("a-old").await, ("lapsed".into(), true));
    assert_eq!(
        states("a-new-1").await,
        ("lapsed".into(), true),
        "same time: the larger id stays"
    );
    assert_eq!(states("a-new-2").await, ("offered".into(), false), "the newest stays");
    assert_eq!(
        states("a-other").await,
        ("offered".into(), false),
        "another lawyer's offer stays"
    );
    assert_eq!(
        states("a-done").await,
        ("declined".into(), false),
        "ended ones are left alone"
    );
    assert_eq!(f.lawyers_with_two_offers().await, 0);
    // The index holds from now on.
    let second = sqlx::query(
        "INSERT INTO assignments (id, consultation_id, lawyer_id, state, attempt, offered_at, lapses_at, updated_at)
         VALUES ('a-again', $1, $2, 'offered', 1, $3, $3, $3)",
    )
    .bind(&cases[0])
    .bind(&l0)
    .bind("2026-11-30T09:00:00.000Z")
    .execute(&pool)
    .await;
    assert!(
        matches!(&second, Err(sqlx::Error::Database(e)) if e.is_unique_violation()),
        "{second:?}"
    );
    // And the lawyer's claim answers the offer they hold.
    let (status, offer) = f.app.api(Method::POST, "/queue/claim", &f.lawyers[0].1, None).await;
    assert_eq!(status, 200, "{offer}");
    assert_eq!(offer["assignment"], "a-new-2");
    f.app.stop().await;
}
