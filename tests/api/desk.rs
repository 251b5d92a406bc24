//! The duty desk through the JSON API and the console: every route refuses the wrong role
//! (403) and a missing sign-in; lawyers see only what they are eligible for or hold,
//! supervisors their region; every read of a case is audited; a lawyer's shift end to end;
//! CSRF; the OpenAPI document lists exactly the routes served.

use hotline::domain::roster::parse_csv;
use hotline::domain::{Channel, Role};
use hotline::routing::queue::Waiting;
use hotline::routing::CallbackQueue;
use hotline::storage::consultations::{Consultation, Details, NewConsultation};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::backends;
use crate::helpers::{spawn_app, Backend, TestApp, PASSWORD};

backends!(
    every_api_route_refuses_the_wrong_role,
    every_console_route_refuses_the_wrong_role,
    each_role_sees_its_own_part_of_the_queue,
    a_lawyer_claims_calls_back_notes_and_closes_through_the_api,
    the_openapi_document_lists_exactly_the_served_routes,
    accounts_are_checked_before_they_are_stored,
    the_lawyer_of_a_case_reads_the_callers_archive,
);

const ROSTER: &str = "name,phone,skills,regions,max_cases,shifts,exceptions
张明,+8613800000001,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,
李华,+8613800000002,family_maintenance,610200,3,mon-sun 00:00-24:00,
";

/// A desk with one waiting case (labour, 西安 610100) and an account per role.
pub struct Desk {
    pub app: TestApp,
    pub ticket: String,
    pub consultation: String,
    /// 张明: eligible for the case.
    pub zhang: String,
    /// 李华: another matter and region.
    pub li: String,
    /// Supervisor of 610100.
    pub supervisor: String,
    /// Supervisor of 610200.
    pub other_supervisor: String,
    pub admin: String,
    /// For the console: redirects are seen, not followed.
    pub browser: reqwest::Client,
}

pub async fn desk(backend: Backend) -> Desk {
    let app = spawn_app(backend).await;
    let db = &app.state.db;
    db.import_roster(&parse_csv(ROSTER).unwrap()).await.unwrap();
    let lawyers = db.lawyers().await.unwrap();
    let id = |name: &str| lawyers.iter().find(|l| l.name == name).unwrap().id.clone();
    let c = waiting_case(&app, Channel::Voice, "test:desk", "+8613900000077").await;
    Desk {
        zhang: app.staff("zhang", Role::Lawyer, Some(&id("张明"))).await,
        li: app.staff("lihua", Role::Lawyer, Some(&id("李华"))).await,
        supervisor: app.staff("sup", Role::Supervisor, Some("610100")).await,
        other_supervisor: app.staff("sup2", Role::Supervisor, Some("610200")).await,
        admin: app.staff("admin", Role::Admin, None).await,
        ticket: c.ticket.as_str().to_owned(),
        consultation: c.id,
        browser: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        app,
    }
}

/// A waiting labour case in 西安 (张明's matter and region) on this channel, queued.
pub async fn waiting_case(app: &TestApp, channel: Channel, origin: &str, phone: &str) -> Consultation {
    let db = &app.state.db;
    let caller = db
        .upsert_caller(&hotline::domain::PhoneNumber::parse(phone).unwrap())
        .await
        .unwrap();
    let (c, _) = db
        .open_consultation(&NewConsultation {
            origin_key: origin,
            caller_id: &caller,
            call_sid: None,
            channel,
        })
        .await
        .unwrap();
    db.add_details(
        &c.id,
        &Details {
            matter: Some("labour_wages"),
            prefecture: Some("610100"),
            county: Some("610104"),
        },
    )
    .await
    .unwrap();
    let c = db.consultation_by_id(&c.id).await.unwrap().unwrap();
    CallbackQueue::new(&app.state.kv)
        .enqueue(&Waiting::of(&c))
        .await
        .unwrap();
    c
}

impl Desk {
    pub async fn api(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.app.api(method, path, token, body).await
    }

    /// 张明 goes on duty and claims the case; returns the assignment id.
    pub async fn zhang_claims(&self) -> String {
        let (status, _) = self
            .api(Method::PUT, "/duty", &self.zhang, Some(json!({"on_duty": true})))
            .await;
        assert_eq!(status, 200);
        let (status, offer) = self.api(Method::POST, "/queue/claim", &self.zhang, None).await;
        assert_eq!(status, 200, "{offer}");
        assert_eq!(offer["ticket"], self.ticket.as_str());
        offer["assignment"].as_str().unwrap().to_owned()
    }
}

async fn every_api_route_refuses_the_wrong_role(backend: Backend) {
    let d = desk(backend).await;
    let a = d.zhang_claims().await;
    let t = &d.ticket;
    let roster = json!({"csv": ROSTER});
    let note = json!({"text": "看过了"});
    let close = json!({"service_form": "legal_consultation", "outcome": "已解答"});
    // (method, path, body, who must be refused)
    type Case<'a> = (Method, String, Option<Value>, Vec<(&'a str, &'a String)>);
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            "/duty".into(),
            None,
            vec![("supervisor", &d.supervisor), ("admin", &d.admin)],
        ),
        (
            Method::PUT,
            "/duty".into(),
            Some(json!({"on_duty": false})),
            vec![("supervisor", &d.supervisor)],
        ),
        (
            Method::POST,
            "/queue/claim".into(),
            None,
            vec![("admin", &d.admin), ("supervisor", &d.supervisor)],
        ),
        (Method::GET, "/offers".into(), None, vec![("supervisor", &d.supervisor)]),
        (
            Method::POST,
            format!("/offers/{a}/accept"),
            None,
            vec![("supervisor", &d.supervisor), ("admin", &d.admin)],
        ),
        (
            Method::POST,
            format!("/offers/{a}/decline"),
            None,
            vec![("supervisor", &d.supervisor)],
        ),
        (
            Method::GET,
            format!("/consultations/{t}"),
            None,
            vec![("other lawyer", &d.li), ("other supervisor", &d.other_supervisor)],
        ),
        (
            Method::POST,
            format!("/consultations/{t}/notes"),
            Some(note.clone()),
            vec![("other lawyer", &d.li), ("other supervisor", &d.other_supervisor)],
        ),
        (
            Method::POST,
            format!("/consultations/{t}/close"),
            Some(close.clone()),
            vec![("other lawyer", &d.li), ("other supervisor", &d.other_supervisor)],
        ),
        (
            Method::POST,
            format!("/consultations/{t}/call-back"),
            None,
            vec![("other lawyer", &d.li), ("supervisor", &d.supervisor)],
        ),
        (
            Method::GET,
            format!("/consultations/{t}/recordings/none"),
            None,
            vec![("other lawyer", &d.li), ("other supervisor", &d.other_supervisor)],
        ),
        (
            Method::GET,
            format!("/consultations/{t}/messages"),
            None,
            vec![("other lawyer", &d.li), ("other supervisor", &d.other_supervisor)],
        ),
        (
            Method::POST,
            format!("/consultations/{t}/messages"),
            Some(note.clone()),
            vec![("other lawyer", &d.li)],
        ),
        (Method::GET, "/roster".into(), None, vec![("lawyer", &d.zhang)]),
        (
            Method::GET,
            "/accounts".into(),
            None,
            vec![("lawyer", &d.zhang), ("supervisor", &d.supervisor)],
        ),
        (
            Method::POST,
            "/accounts/lihua/sign-out".into(),
            None,
            vec![("lawyer", &d.zhang), ("supervisor", &d.supervisor)],
        ),
        (
            Method::GET,
            "/audit".into(),
            None,
            vec![("lawyer", &d.zhang), ("supervisor", &d.supervisor)],
        ),
        (
            Method::POST,
            "/roster".into(),
            Some(roster.clone()),
            vec![
                ("lawyer", &d.zhang),
                ("supervisor of one region only", &d.other_supervisor),
            ],
        ),
    ];
    for (method, path, body, refused) in &cases {
        for (who, token) in refused {
            let (status, error) = d.api(method.clone(), path, token, body.clone()).await;
            assert_eq!(status, 403, "{method} {path} as {who}: {error}");
            assert_eq!(error["error"]["code"], "forbidden", "{method} {path}");
        }
        let (status, error) = d.api(method.clone(), path, "", body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
        assert_eq!(error["error"]["code"], "unauthorized");
        let (status, _) = d.api(method.clone(), path, "not-a-token", body.clone()).await;
        assert_eq!(status, 401, "{method} {path} with a wrong token");
    }
    // Nothing the refused requests asked for happened.
    assert_eq!(d.app.count("SELECT COUNT(*) FROM case_notes").await, 0);
    assert_eq!(
        d.app.consultation(t).await.status.as_str(),
        "waiting_callback",
        "not closed, not called back"
    );
    assert!(d.app.provider.requests().is_empty(), "no call was placed");
    // The right roles get through (the case: its lawyer, its region's supervisor, an admin).
    for token in [&d.zhang, &d.supervisor, &d.admin] {
        let (status, file) = d.api(Method::GET, &format!("/consultations/{t}"), token, None).await;
        assert_eq!(status, 200, "{file}");
        assert_eq!(file["ticket"], t.as_str());
    }
    let (status, _) = d.api(Method::GET, "/roster", &d.supervisor, None).await;
    assert_eq!(status, 200);
    d.app.stop().await;
}

/// Signs in through the login form; returns the session cookie and the CSRF token of the desk.
pub async fn sign_in(d: &Desk, username: &str) -> (String, String) {
    let cookie = d.app.sign_in(username).await;
    let page = d.app.get_text("/console", Some(&cookie)).await;
    (cookie, crate::helpers::csrf_in(&page))
}

const NONE: [(&str, &str); 0] = [];

async fn console(
    d: &Desk,
    method: Method,
    path: &str,
    cookie: &str,
    form: &(impl serde::Serialize + ?Sized),
) -> StatusCode {
    let mut request = d.browser.request(method.clone(), d.app.url(path));
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    if method == Method::POST {
        request = request.form(form);
    }
    request.send().await.unwrap().status()
}

async fn every_console_route_refuses_the_wrong_role(backend: Backend) {
    let d = desk(backend).await;
    let a = d.zhang_claims().await;
    let t = &d.ticket;
    let (li, li_csrf) = sign_in(&d, "lihua").await;
    let (sup, sup_csrf) = sign_in(&d, "sup").await;
    let (admin, admin_csrf) = sign_in(&d, "admin").await;
    let (zhang, zhang_csrf) = sign_in(&d, "zhang").await;
    let with = |csrf: &str, extra: &[(&'static str, &'static str)]| {
        let mut form = vec![("csrf", csrf.to_owned())];
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };
    type Case<'a> = (
        Method,
        String,
        Vec<(&'static str, &'static str)>,
        Vec<(&'a str, &'a str)>,
    );
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/console/duty".into(),
            vec![("on_duty", "true")],
            vec![(&sup, &sup_csrf), (&admin, &admin_csrf)],
        ),
        (
            Method::POST,
            "/console/claim".into(),
            vec![],
            vec![(&admin, &admin_csrf)],
        ),
        (
            Method::POST,
            format!("/console/offers/{a}/accept"),
            vec![],
            vec![(&sup, &sup_csrf)],
        ),
        (
            Method::POST,
            format!("/console/offers/{a}/decline"),
            vec![],
            vec![(&admin, &admin_csrf)],
        ),
        (
            Method::GET,
            format!("/console/cases/{t}"),
            vec![],
            vec![(&li, &li_csrf)],
        ),
        (
            Method::GET,
            format!("/console/cases/{t}/recordings/none"),
            vec![],
            vec![(&li, &li_csrf)],
        ),
        (
            Method::POST,
            format!("/console/cases/{t}/notes"),
            vec![("text", "看过了")],
            vec![(&li, &li_csrf)],
        ),
        (
            Method::POST,
            format!("/console/cases/{t}/close"),
            vec![("service_form", "other"), ("outcome", "x")],
            vec![(&li, &li_csrf)],
        ),
        (
            Method::POST,
            format!("/console/cases/{t}/sms"),
            vec![("text", "您好")],
            vec![(&li, &li_csrf)],
        ),
        (
            Method::POST,
            format!("/console/cases/{t}/call-back"),
            vec![],
            vec![(&li, &li_csrf), (&sup, &sup_csrf)],
        ),
        (
            Method::GET,
            "/console/roster".into(),
            vec![],
            vec![(&zhang, &zhang_csrf)],
        ),
        (
            Method::POST,
            "/console/roster".into(),
            vec![("csv", ROSTER)],
            vec![(&zhang, &zhang_csrf)],
        ),
        (
            Method::GET,
            "/console/accounts".into(),
            vec![],
            vec![(&zhang, &zhang_csrf), (&sup, &sup_csrf)],
        ),
        (
            Method::POST,
            "/console/accounts/sign-out".into(),
            vec![("username", "lihua")],
            vec![(&zhang, &zhang_csrf), (&sup, &sup_csrf)],
        ),
        (
            Method::GET,
            "/console/audit".into(),
            vec![],
            vec![(&zhang, &zhang_csrf), (&sup, &sup_csrf)],
        ),
    ];
    for (method, path, extra, refused) in &cases {
        for (cookie, csrf) in refused {
            let status = console(&d, method.clone(), path, cookie, &with(csrf, extra)).await;
            assert_eq!(status, 403, "{method} {path}");
        }
        // Not signed in: to the sign-in page.
        let status = console(&d, method.clone(), path, "", &with("x", extra)).await;
        assert_eq!(status, 303, "{method} {path} without a session");
        if *method == Method::POST {
            // The right role without the session's CSRF token: refused too.
            let status = console(&d, method.clone(), path, &zhang, &with("forged", extra)).await;
            assert_eq!(status, 403, "{method} {path} without CSRF");
        }
    }
    assert_eq!(d.app.count("SELECT COUNT(*) FROM case_notes").await, 0);
    assert!(d.app.provider.requests().is_empty(), "no call was placed");
    // The right roles get through.
    for cookie in [&zhang, &sup, &admin] {
        let status = console(&d, Method::GET, &format!("/console/cases/{t}"), cookie, &NONE).await;
        assert_eq!(status, 200);
    }
    assert_eq!(console(&d, Method::GET, "/console/roster", &sup, &NONE).await, 200);
    // Signing out ends the session.
    let out = console(&d, Method::POST, "/logout", &zhang, &[("csrf", zhang_csrf.as_str())]).await;
    assert_eq!(out, 303);
    assert_eq!(console(&d, Method::GET, "/console", &zhang, &NONE).await, 303);
    d.app.stop().await;
}

async fn each_role_sees_its_own_part_of_the_queue(backend: Backend) {
    let d = desk(backend).await;
    let tickets = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["ticket"].as_str().unwrap().to_owned())
            .collect()
    };
    for (who, token, sees) in [
        ("eligible lawyer", &d.zhang, true),
        ("lawyer of another matter and region", &d.li, false),
        ("supervisor of the region", &d.supervisor, true),
        ("supervisor of another region", &d.other_supervisor, false),
        ("admin", &d.admin, true),
    ] {
        let (status, queue) = d.api(Method::GET, "/queue", token, None).await;
        assert_eq!(status, 200);
        assert_eq!(tickets(&queue).contains(&d.ticket), sees, "{who}: {queue}");
    }
    let (_, queue) = d.api(Method::GET, "/queue", &d.zhang, None).await;
    assert_eq!(queue[0]["matter_label"], "劳动和工资");
    assert!(queue[0]["place"].as_str().unwrap().starts_with("西安市"), "{queue}");
    // Offered to 张明, it leaves the others' view of the queue but not the supervisor's.
    d.zhang_claims().await;
    let (_, queue) = d.api(Method::GET, "/queue", &d.zhang, None).await;
    assert!(!tickets(&queue).contains(&d.ticket));
    let (_, queue) = d.api(Method::GET, "/queue", &d.supervisor, None).await;
    assert!(tickets(&queue).contains(&d.ticket));
    // Case lists: the supervisor's region, not the other one's.
    let (_, cases) = d.api(Method::GET, "/consultations", &d.supervisor, None).await;
    assert!(tickets(&cases).contains(&d.ticket));
    let (_, cases) = d.api(Method::GET, "/consultations", &d.other_supervisor, None).await;
    assert!(!tickets(&cases).contains(&d.ticket));
    d.app.stop().await;
}

async fn a_lawyer_claims_calls_back_notes_and_closes_through_the_api(backend: Backend) {
    let d = desk(backend).await;
    let t = &d.ticket;
    // Off duty: no claiming.
    let (status, error) = d.api(Method::POST, "/queue/claim", &d.zhang, None).await;
    assert_eq!(status, 409, "{error}");
    let a = d.zhang_claims().await;
    let (_, offers) = d.api(Method::GET, "/offers", &d.zhang, None).await;
    assert_eq!(offers[0]["assignment"], a.as_str());
    assert_eq!(offers[0]["state"], "offered");
    // Reading the case is audited.
    let before = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'case.read'")
        .await;
    let (status, file) = d.api(Method::GET, &format!("/consultations/{t}"), &d.zhang, None).await;
    assert_eq!(status, 200);
    assert_eq!(file["assignment"]["state"], "offered");
    let trail = d.app.state.db.audit_trail(&d.consultation).await.unwrap();
    assert_eq!(
        d.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'case.read'")
            .await,
        before + 1
    );
    let zhang = d.app.state.db.user_by_username("zhang").await.unwrap().unwrap();
    assert!(
        trail.iter().any(|r| r.action == "case.read" && r.user_id == zhang.id),
        "{trail:?}"
    );
    // Call back: the lawyer's phone is dialled through the provider.
    let (status, called) = d
        .api(Method::POST, &format!("/consultations/{t}/call-back"), &d.zhang, None)
        .await;
    assert_eq!(status, 200, "{called}");
    assert_eq!(called["state"], "calling_lawyer");
    let requests = d.app.provider.wait_for(1).await;
    assert_eq!(requests[0].get("To"), Some("+8613800000001"));
    // A note, then closing with the Art. 22 service form.
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/consultations/{t}/notes"),
            &d.zhang,
            Some(json!({"text": "工资被拖欠三个月，建议劳动仲裁"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, error) = d
        .api(
            Method::POST,
            &format!("/consultations/{t}/close"),
            &d.zhang,
            Some(json!({"service_form": "法律咨询", "outcome": "x"})),
        )
        .await;
    assert_eq!(status, 422, "an unknown service form: {error}");
    let close = json!({"service_form": "labour_mediation_arbitration", "outcome": "已指导申请劳动仲裁"});
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/consultations/{t}/close"),
            &d.zhang,
            Some(close.clone()),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/consultations/{t}/close"),
            &d.zhang,
            Some(close),
        )
        .await;
    assert_eq!(status, 409, "closed once");
    let (_, file) = d.api(Method::GET, &format!("/consultations/{t}"), &d.zhang, None).await;
    assert_eq!(file["status"], "closed");
    assert_eq!(file["closing"]["service_form_label"], "劳动争议调解与仲裁代理");
    assert_eq!(file["closing"]["closed_by"], "zhang");
    assert_eq!(file["notes"][0]["body"], "工资被拖欠三个月，建议劳动仲裁");
    // Notes are stored encrypted.
    assert_eq!(
        d.app
            .count("SELECT COUNT(*) FROM case_notes WHERE body_enc LIKE '%劳动仲裁%'")
            .await,
        0
    );
    d.app.stop().await;
}

async fn the_openapi_document_lists_exactly_the_served_routes(backend: Backend) {
    let d = desk(backend).await;
    let doc: Value = d
        .app
        .http
        .get(d.app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert_eq!(operations.len(), 23, "{operations:?}");
    // Every answer an operation can give is documented (schemathesis checks the answers
    // themselves against this in scripts/contract).
    for (method, path) in &operations {
        let op = &paths[path][method.to_lowercase()];
        let documents = |status: &str| op["responses"].get(status).is_some();
        assert!(documents("503"), "{method} {path}: 503");
        assert!(documents("401"), "{method} {path}: 401 (a wrong password at /tokens)");
        if path.contains('{') {
            assert!(documents("404"), "{method} {path}: 404");
        }
        if op.get("requestBody").is_some() {
            assert!(documents("422"), "{method} {path}: 422");
        }
    }
    let text = &doc["components"]["schemas"]["Text"]["properties"]["text"];
    assert_eq!(
        (text["minLength"].as_u64(), text["maxLength"].as_u64()),
        (Some(1), Some(4000)),
        "{text}"
    );
    // Every documented operation is served (not 404/405) …
    for (method, path) in &operations {
        let concrete = path
            .replace("{ticket}", &d.ticket)
            .replace("{assignment}", "none")
            .replace("{id}", "none")
            .replace("{username}", "nobody");
        let (status, _) = d
            .api(
                Method::from_bytes(method.as_bytes()).unwrap(),
                concrete.trim_start_matches("/api/v1"),
                &d.admin,
                Some(json!({})),
            )
            .await;
        assert!(
            status != 404 && status != 405 || ["{assignment}", "{id}", "{username}"].iter().any(|p| path.contains(p)),
            "{method} {path}: {status}"
        );
    }
    // … and a route that is not documented is not served.
    let (status, _) = d.api(Method::DELETE, "/consultations", &d.admin, None).await;
    assert_eq!(status, 405);
    let (status, _) = d.api(Method::GET, "/nothing-here", &d.admin, None).await;
    assert_eq!(status, 404);
    d.app.stop().await;
}

async fn accounts_are_checked_before_they_are_stored(backend: Backend) {
    use hotline::auth::accounts::{add, Account, AccountError};
    let d = desk(backend).await;
    let db = &d.app.state.db;
    let account = |username, role, password, scope: Option<&'static str>| Account {
        username,
        name: "王芳",
        role,
        password,
        lawyer_id: scope.filter(|_| role == Role::Lawyer),
        region: scope.filter(|_| role == Role::Supervisor),
    };
    let cases = [
        (account("wf", Role::Admin, PASSWORD, None), "Username"),
        (account("wangfang", Role::Admin, "short", None), "WeakPassword"),
        (account("wangfang", Role::Lawyer, PASSWORD, None), "Lawyer"),
        (
            account("wangfang", Role::Lawyer, PASSWORD, Some("no-such-lawyer")),
            "Lawyer",
        ),
        (
            account("wangfang", Role::Supervisor, PASSWORD, Some("610104")),
            "Region",
        ),
        (account("Zhang", Role::Admin, PASSWORD, None), "Taken"),
    ];
    for (a, expected) in &cases {
        let err = add(db, a).await.expect_err(expected);
        let name = format!("{err:?}");
        assert!(name.starts_with(expected), "{expected}: {name}");
        assert!(!matches!(err, AccountError::Storage(_)));
    }
    assert_eq!(d.app.count("SELECT COUNT(*) FROM users").await, 5, "nothing stored");
    let made = add(db, &account("WangFang", Role::Supervisor, PASSWORD, Some("610100")))
        .await
        .unwrap();
    assert_eq!(
        (made.username.as_str(), made.region_code.as_deref()),
        ("wangfang", Some("610100"))
    );
    assert!(made.password_hash.starts_with("$argon2id$") && !made.password_hash.contains(PASSWORD));
    // The desk's live part (what the page polls) answers for the new account.
    let (cookie, _) = sign_in(&d, "wangfang").await;
    let live = d
        .browser
        .get(d.app.url("/console/live"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(live.contains("data-count=\"1\"") && live.contains(&d.ticket), "{live}");
    d.app.stop().await;
}

async fn the_lawyer_of_a_case_reads_the_callers_archive(backend: Backend) {
    let d = desk(backend).await;
    let db = &d.app.state.db;
    // The same caller's earlier consultation, closed by an admin.
    let current = d.app.consultation(&d.ticket).await;
    let (old, _) = db
        .open_consultation(&NewConsultation {
            origin_key: "test:earlier",
            caller_id: &current.caller_id,
            call_sid: None,
            channel: Channel::Sms,
        })
        .await
        .unwrap();
    let admin = db.user_by_username("admin").await.unwrap().unwrap();
    let form = hotline::domain::ServiceForm::LegalConsultation;
    assert!(db.close_consultation(&old.id, form, "已解答", &admin.id).await.unwrap());
    let earlier = format!("/consultations/{}", old.ticket.as_str());
    let (status, _) = d.api(Method::GET, &earlier, &d.zhang, None).await;
    assert_eq!(status, 403, "not before the lawyer has one of the caller's cases");
    d.zhang_claims().await;
    let (_, file) = d
        .api(Method::GET, &format!("/consultations/{}", d.ticket), &d.zhang, None)
        .await;
    assert_eq!(file["history"][0]["ticket"], old.ticket.as_str(), "{file}");
    let (status, earlier_file) = d.api(Method::GET, &earlier, &d.zhang, None).await;
    assert_eq!(status, 200);
    assert_eq!(earlier_file["closing"]["service_form_label"], "法律咨询");
    let (status, _) = d.api(Method::GET, &earlier, &d.li, None).await;
    assert_eq!(status, 403);
    d.app.stop().await;
}
