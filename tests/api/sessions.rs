//! Sessions and accounts (issue 19): console sessions end when idle (the desk's own polling does
//! not keep them alive) and absolutely; an admin signs an account out everywhere; API token use
//! is audited once an hour; admins search the audit trail by account, case and day.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::backends;
use crate::desk::{desk, sign_in, Desk};
use crate::helpers::{Backend, PASSWORD};

backends!(
    an_idle_session_ends_and_the_desk_polling_does_not_keep_it,
    an_admin_signs_an_account_out_everywhere,
    token_use_is_audited_once_an_hour,
    admins_search_the_audit_trail,
    a_second_factor_is_asked_for_and_never_accepted_twice,
    the_status_line_says_only_what_the_service_said,
);

/// Sets a column of every session (or token) to a time `mins` minutes ago.
async fn age(d: &Desk, sql: &str, mins: i64) {
    let then = hotline::storage::stamp(chrono::Utc::now() - chrono::Duration::minutes(mins));
    sqlx::query(sql)
        .bind(then)
        .execute(d.app.state.db.pool())
        .await
        .unwrap();
}

async fn seen_at(d: &Desk) -> String {
    use sqlx::Row;
    sqlx::query("SELECT seen_at FROM sessions")
        .fetch_one(d.app.state.db.pool())
        .await
        .unwrap()
        .try_get("seen_at")
        .unwrap()
}

/// The status and `Location` of a console GET with this cookie (redirects are not followed).
async fn get(d: &Desk, path: &str, cookie: &str) -> (StatusCode, String) {
    let response = d
        .browser
        .get(d.app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), location)
}

async fn an_idle_session_ends_and_the_desk_polling_does_not_keep_it(backend: Backend) {
    let d = desk(backend).await;
    let idle = d.app.state.settings.console.session_idle_mins as i64;
    let (cookie, _) = sign_in(&d, "zhang").await;
    // Nearly idle: the poll still answers, but does not count as use.
    age(&d, "UPDATE sessions SET seen_at = $1", idle - 1).await;
    let before = seen_at(&d).await;
    assert_eq!(get(&d, "/console/live", &cookie).await.0, StatusCode::OK);
    assert_eq!(seen_at(&d).await, before, "polling is not use");
    // A page the person opened is use: the session lives on.
    assert_eq!(get(&d, "/console", &cookie).await.0, StatusCode::OK);
    assert!(seen_at(&d).await > before, "a page view renews the session");
    // Idle past the limit: to the sign-in page, which says why.
    age(&d, "UPDATE sessions SET seen_at = $1", idle + 1).await;
    for path in ["/console", "/console/live"] {
        assert_eq!(
            get(&d, path, &cookie).await,
            (StatusCode::SEE_OTHER, "/login?ended=1".to_owned()),
            "{path} after {idle} idle minutes"
        );
    }
    let page = d.app.get_text("/login?ended=1", None).await;
    assert!(page.contains("长时间未操作"), "{page}");
    // Absolute: a session in use still ends at its expiry.
    let (cookie, _) = sign_in(&d, "lihua").await;
    assert_eq!(get(&d, "/console", &cookie).await.0, StatusCode::OK);
    age(&d, "UPDATE sessions SET expires_at = $1", 1).await;
    assert_eq!(get(&d, "/console", &cookie).await.1, "/login?ended=1");
    d.app.stop().await;
}

async fn an_admin_signs_an_account_out_everywhere(backend: Backend) {
    let d = desk(backend).await;
    let (zhang, _) = sign_in(&d, "zhang").await;
    let (admin, admin_csrf) = sign_in(&d, "admin").await;
    let (status, me) = d.api(Method::GET, "/me", &d.zhang, None).await;
    assert_eq!(status, 200, "{me}");
    // The accounts page lists zhang with one session and one token.
    let page = d.app.get_text("/console/accounts", Some(&admin)).await;
    assert!(page.contains("zhang"), "{page}");
    let (status, list) = d.api(Method::GET, "/accounts", &d.admin, None).await;
    assert_eq!(status, 200, "{list}");
    let zhang_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "zhang")
        .unwrap();
    assert_eq!(
        (zhang_row["sessions"].as_i64(), zhang_row["tokens"].as_i64()),
        (Some(1), Some(1))
    );
    // The admin signs zhang out through the console.
    let response = d
        .browser
        .post(d.app.url("/console/accounts/sign-out"))
        .header("cookie", &admin)
        .form(&[("csrf", admin_csrf.as_str()), ("username", "zhang")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = response.headers()["location"].to_str().unwrap().to_owned();
    let page = d.app.get_text(&back, Some(&admin)).await;
    assert!(page.contains("结束登录 1 个，作废接口令牌 1 个"), "{page}");
    // zhang's browser and token are both out; the admin's session is not.
    assert_eq!(get(&d, "/console", &zhang).await.1, "/login?ended=1");
    let (status, _) = d.api(Method::GET, "/me", &d.zhang, None).await;
    assert_eq!(status, 401);
    assert_eq!(get(&d, "/console", &admin).await.0, StatusCode::OK);
    // zhang can sign in again with the password.
    sign_in(&d, "zhang").await;
    // Through the API too; an unknown account is a 404 and changes nothing.
    let (status, out) = d.api(Method::POST, "/accounts/zhang/sign-out", &d.admin, None).await;
    assert_eq!((status, out["sessions"].as_u64()), (StatusCode::OK, Some(1)), "{out}");
    let (status, error) = d.api(Method::POST, "/accounts/nobody/sign-out", &d.admin, None).await;
    assert_eq!(status, 404, "{error}");
    let signed_out = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'account.sign_out'")
        .await;
    assert_eq!(signed_out, 2);
    d.app.stop().await;
}

async fn token_use_is_audited_once_an_hour(backend: Backend) {
    let d = desk(backend).await;
    let uses = "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.user_id
                WHERE a.action = 'token.use' AND u.username = 'lihua'";
    // Ten requests at once: one use recorded.
    let requests = (0..10).map(|_| d.api(Method::GET, "/me", &d.li, None));
    for (status, _) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 200);
    }
    assert_eq!(d.app.count(uses).await, 1);
    d.api(Method::GET, "/queue", &d.li, None).await;
    assert_eq!(d.app.count(uses).await, 1, "within the hour");
    // An hour later, the next request is recorded again, naming the same token as its creation.
    age(&d, "UPDATE api_tokens SET used_at = $1", 61).await;
    d.api(Method::GET, "/me", &d.li, None).await;
    assert_eq!(d.app.count(uses).await, 2);
    let same_token = d
        .app
        .count(
            "SELECT COUNT(DISTINCT a.subject) FROM audit_log a JOIN users u ON u.id = a.user_id
             WHERE a.action IN ('token.use', 'token.create') AND u.username = 'lihua'",
        )
        .await;
    assert_eq!(same_token, 1, "creation and use name the token alike");
    d.app.stop().await;
}

fn actions(found: &Value) -> Vec<String> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn admins_search_the_audit_trail(backend: Backend) {
    let d = desk(backend).await;
    let t = d.ticket.clone();
    // What the trail holds: a supervisor's read, a lawyer's refused read, a failed sign-in to no
    // account.
    d.api(Method::GET, &format!("/consultations/{t}"), &d.supervisor, None)
        .await;
    d.api(Method::GET, &format!("/consultations/{t}"), &d.li, None).await;
    let response = d.app.post_login("nobody", PASSWORD, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let owned = d;
    let d = &owned;
    let search =
        |query: &'static str| async move { d.api(Method::GET, &format!("/audit{query}"), &d.admin, None).await };
    let (status, found) = search("?user=lihua").await;
    assert_eq!(status, 200, "{found}");
    assert!(actions(&found).contains(&"case.read.refused".to_owned()), "{found}");
    assert!(
        !actions(&found).contains(&"case.read".to_owned()),
        "only lihua's: {found}"
    );
    let refused = found
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "case.read.refused")
        .unwrap();
    assert_eq!(refused["ticket"], t.as_str());
    assert_eq!(refused["who"], "lihua");
    assert_eq!(refused["action_label"], "查看案件（被拒绝）");
    // By case: both reads, newest first.
    let (_, found) = d.api(Method::GET, &format!("/audit?ticket={t}"), &d.admin, None).await;
    assert_eq!(actions(&found), ["case.read.refused", "case.read"], "{found}");
    // A name with no account finds its failed sign-in.
    let (_, found) = search("?user=nobody").await;
    assert_eq!(actions(&found), ["login.failed"], "{found}");
    // By day (Beijing time): today has them, tomorrow nothing.
    let today = chrono::Utc::now()
        .with_timezone(&hotline::domain::roster::beijing())
        .date_naive();
    let tomorrow = today + chrono::Days::new(1);
    let (_, found) = d
        .api(
            Method::GET,
            &format!("/audit?user=lihua&from={today}&to={today}"),
            &d.admin,
            None,
        )
        .await;
    assert!(!actions(&found).is_empty(), "{found}");
    let (_, found) = d
        .api(Method::GET, &format!("/audit?from={tomorrow}"), &d.admin, None)
        .await;
    assert_eq!(actions(&found), Vec::<String>::new(), "{found}");
    // A case that does not exist finds nothing; bad dates and tickets say what is wrong.
    let (status, found) = search("?ticket=10000000").await;
    assert_eq!((status, actions(&found).len()), (StatusCode::OK, 0));
    for (bad, says) in [
        ("?from=2026-13-01", "不是有效的日期"),
        ("?from=2026-1-5", "格式不对"),
        ("?ticket=abc", "格式不对"),
    ] {
        let (status, error) = search(bad).await;
        assert_eq!(status, 422, "{bad}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().contains(says), "{error}");
    }
    // The console page shows the same, with the case linked.
    let (admin, _) = sign_in(d, "admin").await;
    let page = d.app.get_text("/console/audit?user=lihua", Some(&admin)).await;
    assert!(page.contains("查看案件（被拒绝）"), "{page}");
    assert!(page.contains(&format!("href=\"/console/cases/{t}\"")), "{page}");
    // A bad search on the page shows the form again, saying what was wrong.
    let response = d
        .browser
        .get(d.app.url("/console/audit?from=2026-02-30"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("不是有效的日期") && page.contains("id=\"audit-from\""),
        "{page}"
    );
    let (status, found) = search("?from=2026-12-05&to=2026-12-01").await;
    assert_eq!(
        (status, actions(&found).len()),
        (StatusCode::OK, 0),
        "a reversed range has no days"
    );
    // Someone else's attempt at the admin pages is in the trail too.
    let (status, _) = d.api(Method::GET, "/audit", &d.li, None).await;
    assert_eq!(status, 403);
    let refused = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.search.refused'")
        .await;
    assert_eq!(refused, 1);
    // Every search is itself in the trail.
    let searches = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.search'")
        .await;
    assert_eq!(
        searches, 8,
        "seven API searches and the page; refused ones read nothing"
    );
    owned.app.stop().await;
}

async fn a_second_factor_is_asked_for_and_never_accepted_twice(backend: Backend) {
    let d = desk(backend).await;
    let db = &d.app.state.db;
    let admin = db.user_by_username("admin").await.unwrap().unwrap();
    let enrolment = hotline::auth::totp::enrol(db.key(), "admin");
    db.set_totp(&admin.id, Some(enrolment.stored)).await.unwrap();
    // The person's app, from the link it was given.
    let app = totp_rs::TOTP::from_url(&enrolment.url).unwrap();
    let token = |code: Option<String>| {
        let mut body = serde_json::json!({"username": "admin", "password": PASSWORD});
        if let Some(code) = code {
            body["code"] = code.into();
        }
        d.api(Method::POST, "/tokens", "", Some(body))
    };
    let (status, no_code) = token(None).await;
    assert_eq!(status, 401, "the password alone is not enough: {no_code}");
    assert!(
        no_code["error"]["message"].as_str().unwrap().contains("两步验证码"),
        "{no_code}"
    );
    let code = app.generate_current().unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(token(Some(wrong)).await.0, 401);
    let (status, issued) = token(Some(code.clone())).await;
    assert_eq!(status, 201, "{issued}");
    let (status, _) = token(Some(code)).await;
    assert_eq!(status, 401, "a code is accepted once");
    // The sign-in form asks for it too.
    let response = d.app.post_login("admin", PASSWORD, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("两步验证") && page.contains("autocomplete=\"one-time-code\""),
        "{page}"
    );
    let (status, error) = d
        .api(
            Method::POST,
            "/tokens",
            "",
            Some(serde_json::json!({"username": "admin", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(status, 401);
    // A wrong password is told exactly as a missing code is: the refusal does not say the
    // password was right; the audit tells them apart.
    assert_eq!(error, no_code);
    let code_failures = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'login.code_failed'")
        .await;
    assert_eq!(
        code_failures, 4,
        "no code, a wrong code, a replayed code, the form without one"
    );
    // Accounts without one are not asked.
    let (status, _) = d
        .api(
            Method::POST,
            "/tokens",
            "",
            Some(serde_json::json!({"username": "zhang", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    d.app.stop().await;
}

/// The desk's status line shows what the service said after a form, never words from a link
/// someone else made; signing out is in the trail.
async fn the_status_line_says_only_what_the_service_said(backend: Backend) {
    let d = desk(backend).await;
    let (cookie, csrf) = sign_in(&d, "zhang").await;
    let forged = "提醒：系统升级，请将密码发送至管理员邮箱";
    let encoded: String = url::form_urlencoded::byte_serialize(forged.as_bytes()).collect();
    for link in [
        format!("/console?done={encoded}"),
        format!("/console?done={encoded}&tag=0123456789abcdef0123456789abcdef"),
    ] {
        let page = d.app.get_text(&link, Some(&cookie)).await;
        assert!(!page.contains(forged), "{link}: {page}");
    }
    // What a form's redirect carries is shown.
    let response = d
        .browser
        .post(d.app.url("/console/duty"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("on_duty", "true")])
        .send()
        .await
        .unwrap();
    let back = response.headers()["location"].to_str().unwrap().to_owned();
    let page = d.app.get_text(&back, Some(&cookie)).await;
    let status_line = page.split("id=\"status\"").nth(1).unwrap_or_default();
    assert!(status_line.contains("值班"), "{status_line}");
    // A form that is not the page's (its fields missing) is refused in Chinese.
    let response = d
        .browser
        .post(d.app.url("/console/duty"))
        .header("cookie", &cookie)
        .form(&[("on_duty", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("表单内容不完整"));
    let response = d
        .browser
        .post(d.app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let logouts = d
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'logout'")
        .await;
    assert_eq!(logouts, 1);
    d.app.stop().await;
}
