//! The roster as supervisors read it: matters and regions by their Chinese names, import
//! problems in Chinese naming the row and column, a refused import that keeps the pasted CSV and
//! names the rows outside the supervisor's prefecture; and the queue's urgent badge in full.

use hotline::domain::legal_aid::Priority;
use reqwest::Method;
use serde_json::json;

use crate::backends;
use crate::desk::{desk, sign_in, Desk};
use crate::helpers::Backend;

backends!(
    the_roster_page_names_matters_and_regions,
    a_refused_import_keeps_the_csv_and_names_the_rows,
    the_urgent_badge_is_shown_whole,
);

const EXAMPLE: &str = include_str!("../../config/roster.example.csv");

async fn page(d: &Desk, cookie: &str, path: &str) -> String {
    d.browser
        .get(d.app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Posts the roster form; returns the status and the page.
async fn import(d: &Desk, cookie: &str, csrf: &str, csv: &str) -> (u16, String) {
    let response = d
        .browser
        .post(d.app.url("/console/roster"))
        .header("cookie", cookie)
        .form(&[("csrf", csrf), ("csv", csv)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The text of the page's alert (the import's problems).
fn alert(page: &str) -> &str {
    let start = page
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("an alert on {page}"));
    let end = page[start..].find("</div>").map_or(page.len(), |e| start + e);
    &page[start..end]
}

async fn the_roster_page_names_matters_and_regions(backend: Backend) {
    let d = desk(backend).await;
    let (cookie, _) = sign_in(&d, "sup").await;
    let roster = page(&d, &cookie, "/console/roster").await;
    assert!(roster.contains("张明"), "{roster}");
    assert!(roster.contains("劳动和工资") && roster.contains("工伤"), "{roster}");
    assert!(roster.contains("西安市"), "{roster}");
    for code in ["labour_wages", "work_injury", ">610100", "610100<", "、610100"] {
        assert!(!roster.contains(code), "{code} shown raw: {roster}");
    }
    // The JSON API keeps the codes and adds the names.
    let (_, entries) = d.api(Method::GET, "/roster", &d.supervisor, None).await;
    assert_eq!(entries[0]["skills"][0], "labour_wages");
    assert_eq!(entries[0]["skill_labels"][0], "劳动和工资");
    assert_eq!(entries[0]["region_labels"][0], "西安市");
    d.app.stop().await;
}

async fn a_refused_import_keeps_the_csv_and_names_the_rows(backend: Backend) {
    let d = desk(backend).await;
    let (cookie, csrf) = sign_in(&d, "sup").await;
    let lawyers = d.app.count("SELECT COUNT(*) FROM lawyers").await;
    // The example roster: 李华 and 王芳 serve outside 西安市.
    let (status, refused) = import(&d, &cookie, &csrf, EXAMPLE).await;
    assert_eq!(status, 403);
    assert!(refused.contains("<textarea"), "the form again: {refused}");
    assert!(refused.contains(EXAMPLE.trim_end()), "the pasted CSV kept: {refused}");
    let problems = alert(&refused);
    assert!(problems.contains("第 2 行") && problems.contains("李华"), "{problems}");
    assert!(problems.contains("第 3 行") && problems.contains("王芳"), "{problems}");
    assert!(problems.contains("宝鸡市") && problems.contains("汉中市"), "{problems}");
    assert!(!problems.contains("张明"), "张明 serves 西安市: {problems}");
    // A broken file: every problem in Chinese, by row and column.
    let broken = "name,phone,skills,regions,max_cases,shifts,exceptions\n\
                  ,12345,cooking,61,0,mon-xyz 9-17,2026-13-01 off\n";
    let (status, invalid) = import(&d, &cookie, &csrf, broken).await;
    assert_eq!(status, 422);
    assert!(invalid.contains("mon-xyz 9-17"), "the pasted CSV kept: {invalid}");
    let problems = alert(&invalid);
    for words in [
        "第 1 行",
        "姓名",
        "电话",
        "专长",
        "cooking",
        "服务地区",
        "案件上限",
        "班次",
        "例外日期",
    ] {
        assert!(problems.contains(words), "{words} in {problems}");
    }
    for english in ["row", "column", "not a", "unknown", "empty", "expected"] {
        assert!(!problems.contains(english), "{english} in {problems}");
    }
    assert_eq!(
        d.app.count("SELECT COUNT(*) FROM lawyers").await,
        lawyers,
        "nothing stored"
    );
    // The API says the same.
    let (status, error) = d
        .api(Method::POST, "/roster", &d.supervisor, Some(json!({"csv": EXAMPLE})))
        .await;
    assert_eq!(status, 403);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("第 2 行") && message.contains("王芳"), "{message}");
    let (status, error) = d
        .api(Method::POST, "/roster", &d.supervisor, Some(json!({"csv": broken})))
        .await;
    assert_eq!(status, 422);
    assert!(
        error["error"]["message"].as_str().unwrap().contains("第 1 行"),
        "{error}"
    );
    // A lawyer still gets the bare refusal.
    let (zhang, zhang_csrf) = sign_in(&d, "zhang").await;
    let (status, bare) = import(&d, &zhang, &zhang_csrf, EXAMPLE).await;
    assert_eq!(status, 403);
    assert!(!bare.contains("<textarea"), "{bare}");
    d.app.stop().await;
}

async fn the_urgent_badge_is_shown_whole(backend: Backend) {
    let d = desk(backend).await;
    d.app
        .state
        .db
        .raise_priority(&d.consultation, Priority::Urgent, true)
        .await
        .unwrap();
    let (cookie, _) = sign_in(&d, "sup").await;
    let desk_page = page(&d, &cookie, "/console").await;
    assert!(desk_page.contains("紧急，有期限或证据需要马上处理"), "{desk_page}");
    d.app.stop().await;
}
