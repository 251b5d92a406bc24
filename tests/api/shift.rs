//! A duty lawyer's shift as real use runs it (issue: what breaks when real people use it): an
//! SMS case taken and closed frees the lawyer, an open SMS thread does not block the next case,
//! closing a case of any channel ends its assignment, and a declined case leaves the lawyer's
//! list, and supervisors see the callers whose place is not known yet.

use hotline::domain::Channel;
use hotline::routing::queue::Waiting;
use hotline::routing::CallbackQueue;
use hotline::storage::consultations::NewConsultation;
use reqwest::Method;
use serde_json::json;

use crate::backends;
use crate::desk::{desk, Desk};
use crate::helpers::Backend;

backends!(
    a_lawyer_who_closes_an_sms_case_is_free_again,
    a_declined_case_leaves_the_lawyers_list,
    cases_of_no_known_place_are_the_default_prefectures,
    a_case_closed_while_the_lawyers_phone_rings_rings_nobody_else,
);

/// A waiting labour case in 西安 (张明's matter and region) on this channel; returns its ticket.
async fn waiting_case(d: &Desk, channel: Channel, origin: &str, phone: &str) -> String {
    crate::desk::waiting_case(&d.app, channel, origin, phone)
        .await
        .ticket
        .as_str()
        .to_owned()
}

async fn claim(d: &Desk) -> serde_json::Value {
    let (status, offer) = d.api(Method::POST, "/queue/claim", &d.zhang, None).await;
    assert_eq!(status, 200, "{offer}");
    offer
}

async fn a_lawyer_who_closes_an_sms_case_is_free_again(backend: Backend) {
    let d = desk(backend).await;
    let (status, _) = d
        .api(Method::PUT, "/duty", &d.zhang, Some(json!({"on_duty": true})))
        .await;
    assert_eq!(status, 200);
    // The desk's voice case goes first (older); the lawyer declines it to take the texter's.
    let voice = claim(&d).await;
    assert_eq!(voice["ticket"], d.ticket.as_str());
    let sms = waiting_case(&d, Channel::Sms, "test:sms-case", "+8613900000088").await;
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/offers/{}/decline", voice["assignment"].as_str().unwrap()),
            &d.zhang,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let offer = claim(&d).await;
    assert_eq!(offer["ticket"], sms.as_str());
    let (status, taken) = d
        .api(
            Method::POST,
            &format!("/offers/{}/accept", offer["assignment"].as_str().unwrap()),
            &d.zhang,
            None,
        )
        .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["state"], "connected");
    assert_eq!(taken["state_label"], "短信联系中", "a texter's thread is not a call");

    // One SMS thread open out of 3 cases: the next claim offers a new case, not the held thread.
    let third = waiting_case(&d, Channel::Voice, "test:third", "+8613900000099").await;
    let next = claim(&d).await;
    assert_eq!(
        next["ticket"],
        third.as_str(),
        "the open SMS thread does not block: {next}"
    );
    assert_eq!(next["state"], "offered");
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/offers/{}/decline", next["assignment"].as_str().unwrap()),
            &d.zhang,
            None,
        )
        .await;
    assert_eq!(status, 204);

    // Closing ends the assignment; the lawyer's offers no longer show it.
    let (status, body) = d
        .api(
            Method::POST,
            &format!("/consultations/{sms}/close"),
            &d.zhang,
            Some(json!({"service_form": "legal_consultation", "outcome": "已通过短信解答"})),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, offers) = d.api(Method::GET, "/offers", &d.zhang, None).await;
    assert_eq!(status, 200);
    assert_eq!(offers, json!([]), "nothing held after closing");
    assert_eq!(
        d.app
            .count("SELECT COUNT(*) FROM assignments WHERE state IN ('offered', 'accepted', 'calling_lawyer', 'calling_caller', 'connected')")
            .await,
        0
    );
    assert_eq!(
        d.app
            .count("SELECT COUNT(*) FROM assignments WHERE state = 'completed'")
            .await,
        1
    );
    // The texter is told, by text, that the case is closed and how to take it up again.
    let mut told = None;
    for _ in 0..100 {
        told = d
            .app
            .provider
            .requests()
            .into_iter()
            .find(|r| r.get("Body").is_some_and(|b| b.contains("已办结")));
        if told.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let told = told.expect("a closing text");
    assert_eq!(told.get("To"), Some("+8613900000088"));
    assert!(told.get("Body").unwrap().contains(&sms) && told.get("Body").unwrap().contains("再次办理"));
    // And the dispatcher offers them work again: a fourth case arrives.
    let fourth = waiting_case(&d, Channel::Voice, "test:fourth", "+8613900000066").await;
    let offers = hotline::routing::dispatch::dispatch(&d.app.state, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(offers.len(), 1, "the freed lawyer is offered the new case");
    let c = d
        .app
        .state
        .db
        .consultation_by_id(&offers[0].consultation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.ticket.as_str(), fourth);
    d.app.stop().await;
}

async fn a_declined_case_leaves_the_lawyers_list(backend: Backend) {
    let d = desk(backend).await;
    let a = d.zhang_claims().await;
    let (status, queue) = d.api(Method::GET, "/queue", &d.zhang, None).await;
    assert_eq!(status, 200);
    assert_eq!(queue, json!([]), "offered to them: not in the waiting list");
    let (status, _) = d
        .api(Method::POST, &format!("/offers/{a}/decline"), &d.zhang, None)
        .await;
    assert_eq!(status, 204);
    let (_, queue) = d.api(Method::GET, "/queue", &d.zhang, None).await;
    assert_eq!(queue, json!([]), "declined: it cannot be theirs, so it is not listed");
    // The supervisor still sees it waiting.
    let (_, queue) = d.api(Method::GET, "/queue", &d.supervisor, None).await;
    assert_eq!(queue[0]["ticket"], d.ticket.as_str());
    d.app.stop().await;
}

async fn cases_of_no_known_place_are_the_default_prefectures(backend: Backend) {
    let d = desk(backend).await;
    // A menu given up: no matter, no place.
    let db = &d.app.state.db;
    let caller = db
        .upsert_caller(&hotline::domain::PhoneNumber::parse("+8613900000055").unwrap())
        .await
        .unwrap();
    let (c, _) = db
        .open_consultation(&NewConsultation {
            origin_key: "test:gave-up",
            caller_id: &caller,
            call_sid: None,
            channel: Channel::Voice,
        })
        .await
        .unwrap();
    CallbackQueue::new(&d.app.state.kv)
        .enqueue(&Waiting::of(&c))
        .await
        .unwrap();
    let ticket = c.ticket.as_str();
    assert_eq!(d.app.state.settings.callback.default_prefecture, "610100");
    // The default prefecture's supervisor (610100) sees it; another prefecture's does not.
    let (_, queue) = d.api(Method::GET, "/queue", &d.supervisor, None).await;
    let tickets: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["ticket"].as_str())
        .collect();
    assert!(tickets.contains(&ticket), "{queue}");
    let (status, _) = d
        .api(Method::GET, &format!("/consultations/{ticket}"), &d.supervisor, None)
        .await;
    assert_eq!(status, 200);
    let (_, cases) = d.api(Method::GET, "/consultations", &d.supervisor, None).await;
    assert!(cases.to_string().contains(ticket), "{cases}");
    let (_, queue) = d.api(Method::GET, "/queue", &d.other_supervisor, None).await;
    assert!(!queue.to_string().contains(ticket), "{queue}");
    let (status, _) = d
        .api(
            Method::GET,
            &format!("/consultations/{ticket}"),
            &d.other_supervisor,
            None,
        )
        .await;
    assert_eq!(status, 403);
    d.app.stop().await;
}

async fn a_case_closed_while_the_lawyers_phone_rings_rings_nobody_else(backend: Backend) {
    use crate::provider::{pairs, post_signed, sid};
    let d = desk(backend).await;
    let a = d.zhang_claims().await;
    let (status, taken) = d
        .api(Method::POST, &format!("/offers/{a}/accept"), &d.zhang, None)
        .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["state"], "calling_lawyer");
    let (status, _) = d
        .api(
            Method::POST,
            &format!("/consultations/{}/close", d.ticket),
            &d.zhang,
            Some(json!({"service_form": "legal_consultation", "outcome": "来电人已自行解决"})),
        )
        .await;
    assert!(status.is_success());
    // The lawyer picks up after all: told, and the call ends; the caller is not rung.
    let calls_before = d.app.provider.requests().len();
    let leg = pairs(&[
        ("AccountSid", crate::helpers::ACCOUNT_SID),
        ("CallSid", &sid("CA")),
        ("CallStatus", "in-progress"),
    ]);
    let reply = post_signed(&d.app, &format!("/twilio/callback/lawyer?a={a}"), &leg, &[]).await;
    let xml = reply.assert_twiml();
    assert!(xml.contains("这次回拨已经结束") && xml.contains("<Hangup/>"), "{xml}");
    assert!(!xml.contains("Conference"), "{xml}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rung = d.app.provider.requests()[calls_before..]
        .iter()
        .filter(|r| r.path.ends_with("Calls.json"))
        .count();
    assert_eq!(rung, 0, "nobody else is rung");
    // A status report about an assignment that does not exist is acknowledged, not an outage.
    let report = pairs(&[
        ("AccountSid", crate::helpers::ACCOUNT_SID),
        ("CallSid", &sid("CA")),
        ("CallStatus", "completed"),
    ]);
    let path = "/twilio/callback/caller/status?a=00000000-0000-0000-0000-000000000000";
    assert_eq!(post_signed(&d.app, path, &report, &[]).await.status, 200);
    d.app.stop().await;
}
