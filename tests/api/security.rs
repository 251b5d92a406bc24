//! The console's and API's defences (issue 19): security headers on every route family, the
//! sign-in form's CSRF token and the same-origin check on console posts, and failed sign-ins
//! slowed down (429 with `Retry-After`) without locking the account's owner out.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::backends;
use crate::desk::{desk, sign_in, Desk};
use crate::helpers::{cookie_set, csrf_in, spawn_app_with, Backend, Options, PASSWORD};
use crate::provider::{post_signed, Phone};

backends!(
    every_route_family_carries_the_security_headers,
    the_sign_in_form_and_console_posts_refuse_other_sites,
    failed_sign_ins_slow_down_without_locking_the_owner_out,
    control_characters_in_a_text_are_kept_and_shown_visibly,
    refused_case_reads_are_audited,
    errors_outside_the_routes_keep_their_shape_and_language,
);

/// What every answer must carry, and whether it may be cached.
fn assert_headers(what: &str, response: &reqwest::Response, personal: bool) {
    let h = response.headers();
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: CSP {csp:?} lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    let cache = get("cache-control");
    if personal {
        assert_eq!(cache, "no-store", "{what}");
    } else {
        assert!(cache.contains("max-age"), "{what}: {cache}");
    }
}

async fn every_route_family_carries_the_security_headers(backend: Backend) {
    let d = desk(backend).await;
    let (cookie, _) = sign_in(&d, "sup").await;
    let get = |path: String, cookie: Option<&str>, token: Option<&str>| {
        let mut request = d.browser.get(d.app.url(&path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let personal = [
        ("/login".to_owned(), None, None),
        ("/console".to_owned(), Some(cookie.as_str()), None),
        (format!("/console/cases/{}", d.ticket), Some(cookie.as_str()), None),
        ("/console/roster".to_owned(), Some(cookie.as_str()), None),
        ("/console".to_owned(), None, None),
        ("/api/v1/me".to_owned(), None, Some(d.supervisor.as_str())),
        ("/api/v1/consultations".to_owned(), None, Some(d.supervisor.as_str())),
        ("/api/v1/queue".to_owned(), None, None),
        ("/api/v1/openapi.json".to_owned(), None, None),
        ("/healthz".to_owned(), None, None),
        ("/readyz".to_owned(), None, None),
        ("/metrics".to_owned(), None, None),
        ("/no/such/page".to_owned(), None, None),
    ];
    for (path, cookie, token) in personal {
        let response = get(path.clone(), cookie, token).await.unwrap();
        assert_headers(&path, &response, true);
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        if html {
            // No inline script or style for the policy to refuse.
            let page = response.text().await.unwrap();
            assert!(!page.contains(" style="), "{path}: an inline style");
            for script in page.split("<script").skip(1) {
                assert!(script.trim_start().starts_with("src="), "{path}: an inline script");
            }
        }
    }
    for path in ["/console/assets/console.css", "/console/assets/console.js"] {
        let response = get(path.to_owned(), None, None).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_headers(path, &response, false);
    }
    // A webhook's answer carries the caller's ticket: never cached.
    let phone = Phone::new(&d.app, "+8613800138000");
    let voice = d
        .app
        .http
        .post(d.app.url("/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "x-twilio-signature",
            crate::provider::twilio_signature(
                &d.app.auth_token,
                &format!("{}/twilio/voice", d.app.public_url),
                &phone.params(&[]),
            ),
        )
        .body(crate::provider::form_body(&phone.params(&[])))
        .send()
        .await
        .unwrap();
    assert_eq!(voice.status(), 200);
    assert_headers("/twilio/voice", &voice, true);
    assert!(
        voice.headers().get("strict-transport-security").is_none(),
        "no HSTS in development"
    );
    d.app.stop().await;

    // Production mode adds HSTS.
    let app = spawn_app_with(
        backend,
        Options {
            production: true,
            ..Options::default()
        },
    )
    .await;
    let response = app.http.get(app.url("/login")).send().await.unwrap();
    let hsts = response.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age=63072000"), "{hsts}");
    let reply = post_signed(
        &app,
        "/twilio/voice",
        &Phone::new(&app, "+8613800138000").params(&[]),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    app.stop().await;
}

async fn the_sign_in_form_and_console_posts_refuse_other_sites(backend: Backend) {
    let d = desk(backend).await;
    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>, origin: Option<&'static str>| {
        let d = &d;
        async move {
            let mut request = d.browser.post(d.app.url("/login")).form(&form);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send().await.unwrap()
        }
    };
    let credentials = |csrf: &str| {
        vec![
            ("username", "zhang".to_owned()),
            ("password", PASSWORD.to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    // A form page's token and cookie, as the browser has them.
    let page = d.browser.get(d.app.url("/login")).send().await.unwrap();
    let form_cookie = cookie_set(&page, "hotline_login").expect("the form's cookie");
    let token = csrf_in(&page.text().await.unwrap());

    // An attacker's page posts its own credentials: the victim's browser sends no form cookie
    // (SameSite=Strict), or the attacker's own page token does not match the victim's cookie.
    let refused = [
        ("no token, no cookie", post(credentials(""), None, None).await),
        (
            "a token without its cookie",
            post(credentials(&token), None, None).await,
        ),
        (
            "another form's token",
            post(credentials(&"ab".repeat(32)), Some(form_cookie.clone()), None).await,
        ),
        (
            "from another site",
            post(
                credentials(&token),
                Some(form_cookie.clone()),
                Some("https://evil.example.com"),
            )
            .await,
        ),
    ];
    for (what, response) in refused {
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(cookie_set(&response, "hotline_session").is_none(), "{what}: no session");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("登录页面已过期") || page.contains("来自其他网站"),
            "{what}: told why in Chinese: {page}"
        );
    }
    // The form itself, from the service's own page, signs in.
    let own = post(credentials(&token), Some(form_cookie), Some("http://localhost")).await;
    assert_eq!(
        own.status(),
        StatusCode::FORBIDDEN,
        "another host name is another origin"
    );
    let signed = d.app.post_login("zhang", PASSWORD, &[]).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);

    // Console posts: the session's CSRF token, and no other site's Origin or Referer.
    let (cookie, csrf) = sign_in(&d, "zhang").await;
    let duty = |origin: Option<(&'static str, String)>| {
        let (d, cookie, csrf) = (&d, cookie.clone(), csrf.clone());
        async move {
            let mut request = d
                .browser
                .post(d.app.url("/console/duty"))
                .header("cookie", cookie)
                .form(&[("csrf", csrf.as_str()), ("on_duty", "true")]);
            if let Some((header, value)) = origin {
                request = request.header(header, value);
            }
            request.send().await.unwrap().status()
        }
    };
    let own_origin = format!("http://{}", d.app.addr);
    assert_eq!(duty(Some(("origin", "https://evil.example.com".into()))).await, 403);
    assert_eq!(duty(Some(("origin", "null".into()))).await, 403);
    assert_eq!(
        duty(Some(("referer", "https://evil.example.com/page".into()))).await,
        403
    );
    assert_eq!(duty(Some(("origin", own_origin.clone()))).await, 303);
    assert_eq!(duty(Some(("referer", format!("{own_origin}/console")))).await, 303);
    assert_eq!(
        duty(None).await,
        303,
        "a client that sends neither still needs the token"
    );
    d.app.stop().await;
}

/// A sign-in through the API (no device cookie): its status and `Retry-After`.
async fn api_sign_in(d: &Desk, username: &str, password: &str) -> (StatusCode, Option<u64>) {
    let response = d
        .app
        .http
        .post(d.app.url("/api/v1/tokens"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status(), retry)
}

async fn failed_sign_ins_slow_down_without_locking_the_owner_out(backend: Backend) {
    let d = desk(backend).await;
    // The owners signed in before on their own browsers: those carry device cookies.
    let device_of = |response: &reqwest::Response| cookie_set(response, "hotline_device").expect("a device cookie");
    let zhang_device = device_of(&d.app.post_login("zhang", PASSWORD, &[]).await);
    let li_device = device_of(&d.app.post_login("lihua", PASSWORD, &[]).await);

    // Someone else guesses zhang's password: five free attempts, then waits that double.
    for _ in 0..5 {
        assert_eq!(api_sign_in(&d, "zhang", "a guess!").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, retry) = api_sign_in(&d, "zhang", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "a waiting attempt is not checked"
    );
    let retry = retry.expect("Retry-After");
    assert!((1..=2).contains(&retry), "{retry}");
    let console = d.app.post_login("zhang", "a guess!", &[]).await;
    assert_eq!(console.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(console.headers().contains_key("retry-after"));
    assert!(console.text().await.unwrap().contains("登录尝试过多"));

    // zhang, on the browser they use, is not locked out, and is told what happened.
    let owner = d.app.post_login("zhang", PASSWORD, &[&zhang_device]).await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    let location = owner.headers()["location"].to_str().unwrap();
    let told: String = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect();
    assert!(told.contains("登录失败 5 次"), "{told}");

    // A wait, not a lock: once it is over the right password works from anywhere.
    tokio::time::sleep(Duration::from_secs(retry + 1)).await;
    assert_eq!(api_sign_in(&d, "zhang", PASSWORD).await.0, StatusCode::CREATED);
    // The count was cleared by that sign-in; it starts again from five free attempts.
    assert_eq!(api_sign_in(&d, "zhang", "a guess!").await.0, StatusCode::UNAUTHORIZED);

    // Fifty failures from one address (a whole office behind one NAT): new browsers there wait,
    // but the office's lawyers on their own browsers sign in.
    let mut held = false;
    for i in 0..60 {
        if api_sign_in(&d, &format!("nobody{i}"), "a guess!").await.0 == StatusCode::TOO_MANY_REQUESTS {
            held = true;
            break;
        }
    }
    assert!(held, "the address waits after fifty failures");
    let (status, retry) = api_sign_in(&d, "lihua", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a new browser there waits too");
    assert!(retry.is_some());
    let li = d.app.post_login("lihua", PASSWORD, &[&li_device]).await;
    assert_eq!(
        li.status(),
        StatusCode::SEE_OTHER,
        "a known browser is not held by the address"
    );

    // Every failure and every refused wait is audited, under the account tried.
    let zhang_id = d.app.state.db.user_by_username("zhang").await.unwrap().unwrap().id;
    let audited = |action: &'static str| {
        let (d, id) = (&d, zhang_id.clone());
        async move {
            d.app
                .count(&format!(
                    "SELECT COUNT(*) FROM audit_log WHERE user_id = '{id}' AND action = '{action}'"
                ))
                .await
        }
    };
    assert_eq!(audited("login.failed").await, 6);
    assert_eq!(audited("login.throttled").await, 2);
    let unknown = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE user_id LIKE 'username:nobody%' AND action = 'login.failed'")
        .await;
    assert_eq!(unknown, 44, "fifty failures from the address, six of them zhang's");
    d.app.stop().await;
}

/// A text with a NUL and an ESC (a terminal's colour code): stored as sent, and shown on the
/// case page as �, never handed to the browser.
async fn control_characters_in_a_text_are_kept_and_shown_visibly(backend: Backend) {
    let d = desk(backend).await;
    let sent = "公司拖欠工资\u{1b}[31m三个月\u{0}了，想咨询怎么办";
    let replies = crate::sms::text(&d.app, "+8613900000123", sent).await;
    let ticket = crate::sms::ticket_in(&replies.join(""));
    let (cookie, _) = sign_in(&d, "admin").await;
    let page = d.app.get_text(&format!("/console/cases/{ticket}"), Some(&cookie)).await;
    assert!(page.contains("公司拖欠工资\u{FFFD}[31m三个月\u{FFFD}了"), "{page}");
    assert!(!page.contains('\u{1b}') && !page.contains('\u{0}'));
    // The API gives the text exactly as it came.
    let (status, messages) = d
        .api(
            reqwest::Method::GET,
            &format!("/consultations/{ticket}/messages"),
            &d.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(messages.to_string().contains("\\u001b[31m"), "{messages}");
    d.app.stop().await;
}

/// A lawyer who tries a case that is not theirs is refused, and the trail shows the attempt.
async fn refused_case_reads_are_audited(backend: Backend) {
    let d = desk(backend).await;
    let (status, _) = d
        .api(
            reqwest::Method::GET,
            &format!("/consultations/{}", d.ticket),
            &d.li,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (cookie, _) = sign_in(&d, "sup2").await;
    let page = d
        .browser
        .get(d.app.url(&format!("/console/cases/{}", d.ticket)))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let trail = d.app.state.db.audit_trail(&d.consultation).await.unwrap();
    let refused: Vec<_> = trail.iter().filter(|r| r.action == "case.read.refused").collect();
    assert_eq!(refused.len(), 2, "{trail:?}");
    assert!(
        trail.iter().all(|r| r.action != "case.read"),
        "nothing was read: {trail:?}"
    );
    d.app.stop().await;
}

/// A path nothing serves, a method a path does not take, a body too large: the API answers in
/// its JSON error shape, the console with a page in Chinese; a post with two Origins is refused.
async fn errors_outside_the_routes_keep_their_shape_and_language(backend: Backend) {
    let d = desk(backend).await;
    let error_of = |v: &serde_json::Value| v["error"]["code"].as_str().unwrap_or_default().to_owned();
    let (status, body) = d.api(reqwest::Method::GET, "/nothing-here", &d.admin, None).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::NOT_FOUND, "not_found".to_owned()),
        "{body}"
    );
    let (status, body) = d.api(reqwest::Method::GET, "/tokens", "", None).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".to_owned()),
        "{body}"
    );
    // On a connection of its own: the server answers before reading the body and closes it.
    let big = "字".repeat(40_000);
    let response = reqwest::Client::new()
        .post(d.app.url("/api/v1/sms/segments"))
        .bearer_auth(&d.admin)
        .json(&json!({"text": big}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_owned()),
        "{body}"
    );
    let (status, body) = d.api(reqwest::Method::GET, "/me", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("接口令牌"),
        "{body}"
    );
    let (cookie, csrf) = sign_in(&d, "admin").await;
    let page = d
        .browser
        .get(d.app.url("/console/nothing"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("没有这个页面"));
    let base = d.app.url("");
    let response = d
        .browser
        .post(d.app.url("/console/accounts/sign-out"))
        .header("cookie", &cookie)
        .header("origin", base.trim_end_matches('/'))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("username", "lihua")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "two Origins");
    d.app.stop().await;
}
