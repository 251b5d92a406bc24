//! The callback queue against a real Redis: order by priority with aging, eligibility,
//! offers that are never held by two lawyers, one offer per lawyer at a time, declines and lapsed
//! offers keeping the place.
//! Clocks are passed in, so no test sleeps.

use std::collections::HashSet;
use std::sync::Arc;

use hotline::domain::legal_aid::Priority;
use hotline::domain::Matter;
use hotline::kv::Kv;
use hotline::routing::queue::{Lawyer, Waiting};
use hotline::routing::CallbackQueue;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_800_000_000_000;

fn kv() -> Kv {
    let url = std::env::var("HOTLINE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    Kv::new(
        &url,
        &format!("hotline-test-queue-{}", uuid::Uuid::new_v4().simple()),
        std::time::Duration::from_secs(2),
    )
    .unwrap()
}

fn waiting(
    id: &str,
    matter: Option<Matter>,
    prefecture: Option<&'static str>,
    priority: Priority,
    since: i64,
) -> Waiting<'static> {
    Waiting {
        id: Box::leak(id.to_owned().into_boxed_str()),
        matter,
        prefecture,
        priority,
        waiting_since_ms: since,
    }
}

/// The entry the queue offers the lawyer at `now` for two minutes (its id).
async fn claim(q: &CallbackQueue<'_>, lawyer: &Lawyer<'_>, now: i64) -> Option<String> {
    q.claim_next(lawyer, now, 120_000).await.unwrap().map(|r| r.id)
}

fn everyone() -> (Vec<Matter>, Vec<String>) {
    (Matter::ALL.to_vec(), vec!["610100".into(), "610300".into()])
}

#[tokio::test]
async fn urgent_first_but_nothing_starves() {
    let kv = kv();
    let q = CallbackQueue::new(&kv);
    q.enqueue(&waiting("normal-old", None, None, Priority::Normal, T0 - 30 * HOUR))
        .await
        .unwrap();
    q.enqueue(&waiting("normal", None, None, Priority::Normal, T0 - HOUR / 2))
        .await
        .unwrap();
    q.enqueue(&waiting("severe", None, None, Priority::SevereDisability, T0 - HOUR))
        .await
        .unwrap();
    q.enqueue(&waiting("urgent", None, None, Priority::Urgent, T0))
        .await
        .unwrap();
    q.enqueue(&waiting("criminal", None, None, Priority::CriminalNotification, T0))
        .await
        .unwrap();
    // Queued once; a later, lower class never moves it down...
    assert!(!q
        .enqueue(&waiting("severe", None, None, Priority::Normal, T0))
        .await
        .unwrap());
    // ...and a higher one (an application found it urgent) moves it up, from its own start.
    assert!(!q
        .enqueue(&waiting("normal", None, None, Priority::Urgent, T0 - HOUR / 2))
        .await
        .unwrap());

    let (matters, places) = everyone();
    let lawyer = Lawyer {
        id: "L1",
        matters: &matters,
        prefectures: &places,
    };
    let mut order = Vec::new();
    // A lawyer holds one offer at a time: each is taken before the next claim.
    while let Some(id) = claim(&q, &lawyer, T0).await {
        assert!(q.accept(&id, "L1", T0 + 1).await.unwrap());
        order.push(id);
    }
    // 30 hours of waiting beat a 24-hour head start; "normal", raised to urgent after half an
    // hour of waiting, beats the urgent one that just came; urgent (4 h) beats severe (1 h head
    // start + 1 h waiting).
    assert_eq!(order, ["normal-old", "criminal", "normal", "urgent", "severe"]);
}

#[tokio::test]
async fn lawyers_get_only_what_they_may_take() {
    let kv = kv();
    let q = CallbackQueue::new(&kv);
    q.enqueue(&waiting(
        "xian-labour",
        Some(Matter::LabourAndWages),
        Some("610100"),
        Priority::Normal,
        T0,
    ))
    .await
    .unwrap();
    q.enqueue(&waiting(
        "baoji-labour",
        Some(Matter::LabourAndWages),
        Some("610300"),
        Priority::Normal,
        T0 - HOUR,
    ))
    .await
    .unwrap();
    q.enqueue(&waiting(
        "xian-criminal",
        Some(Matter::Criminal),
        Some("610100"),
        Priority::CriminalNotification,
        T0,
    ))
    .await
    .unwrap();
    q.enqueue(&waiting("unsorted", None, None, Priority::Normal, T0 + HOUR))
        .await
        .unwrap();

    let (labour, xian) = (vec![Matter::LabourAndWages], vec!["610100".to_owned()]);
    let lawyer = Lawyer {
        id: "L-labour-xian",
        matters: &labour,
        prefectures: &xian,
    };
    let mut got = Vec::new();
    while let Some(id) = claim(&q, &lawyer, T0).await {
        assert!(q.accept(&id, "L-labour-xian", T0 + 1).await.unwrap());
        got.push(id);
    }
    assert_eq!(
        got,
        ["xian-labour", "unsorted"],
        "not Baoji, not criminal; unsorted entries go to anyone"
    );
    assert_eq!(q.waiting().await.unwrap(), 2);
}

#[tokio::test]
async fn many_claimers_never_get_the_same_entry() {
    let kv = Arc::new(kv());
    let q = CallbackQueue::new(&kv);
    for i in 0..300 {
        let matter = Matter::ALL[i % Matter::ALL.len()];
        let place = ["610100", "610300"][i % 2];
        q.enqueue(&waiting(
            &format!("c{i}"),
            Some(matter),
            Some(place),
            Priority::Normal,
            T0 + i as i64,
        ))
        .await
        .unwrap();
    }
    let mut tasks = Vec::new();
    for l in 0..16 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            let (matters, places) = everyone();
            let id = format!("L{l}");
            let lawyer = Lawyer {
                id: &id,
                matters: &matters,
                prefectures: &places,
            };
            let q = CallbackQueue::new(&kv);
            let mut mine = Vec::new();
            while let Some(entry) = claim(&q, &lawyer, T0).await {
                assert!(
                    q.accept(&entry, &id, T0 + 1).await.unwrap(),
                    "an offer is the claimer's own"
                );
                mine.push(entry);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 300, "every entry was taken");
    assert_eq!(distinct.len(), 300, "and none twice");
}

#[tokio::test]
async fn declined_and_lapsed_offers_keep_their_place_and_go_to_someone_else() {
    let kv = kv();
    let q = CallbackQueue::new(&kv);
    q.enqueue(&waiting("first", None, None, Priority::Normal, T0))
        .await
        .unwrap();
    q.enqueue(&waiting("second", None, None, Priority::Normal, T0 + 1000))
        .await
        .unwrap();
    let (matters, places) = everyone();
    let a = Lawyer {
        id: "A",
        matters: &matters,
        prefectures: &places,
    };
    let b = Lawyer {
        id: "B",
        matters: &matters,
        prefectures: &places,
    };

    // A declines "first": it waits again in first place, but is not offered to A again.
    assert_eq!(claim(&q, &a, T0).await.as_deref(), Some("first"));
    assert_eq!(q.position("first").await.unwrap(), None, "not waiting while offered");
    assert!(!q.decline("first", "B").await.unwrap(), "only the holder can decline");
    assert!(q.decline("first", "A").await.unwrap());
    assert_eq!(q.position("first").await.unwrap(), Some(1));
    assert_eq!(claim(&q, &a, T0).await.as_deref(), Some("second"));
    assert!(q.accept("second", "A", T0 + 5_000).await.unwrap());
    // B gets "first"; B's offer lapses at T0 + 120 s.
    assert_eq!(claim(&q, &b, T0).await.as_deref(), Some("first"));
    assert!(!q.accept("first", "A", T0 + 1).await.unwrap(), "not A's offer");
    assert!(
        q.expire_offers(T0 + 119_000).await.unwrap().is_empty(),
        "not lapsed yet"
    );
    assert_eq!(q.expire_offers(T0 + 121_000).await.unwrap(), ["first"]);
    assert!(
        !q.accept("first", "B", T0 + 122_000).await.unwrap(),
        "a lapsed offer cannot be taken"
    );
    assert_eq!(q.position("first").await.unwrap(), Some(1), "back in its old place");
    // Both A and B passed on it: nobody else here to offer it to.
    assert_eq!(claim(&q, &b, T0).await, None);
    let c = Lawyer {
        id: "C",
        matters: &matters,
        prefectures: &places,
    };
    assert_eq!(claim(&q, &c, T0 + 200_000).await.as_deref(), Some("first"));
    assert!(q.accept("first", "C", T0 + 201_000).await.unwrap());
    // Done: gone, and queueing it again starts afresh.
    assert!(q.remove("first").await.unwrap());
    assert!(!q.remove("first").await.unwrap());
    assert!(q
        .enqueue(&waiting("first", None, None, Priority::Normal, T0))
        .await
        .unwrap());
}

#[tokio::test]
async fn rebuilding_in_batches_keeps_what_is_there() {
    let kv = kv();
    let q = CallbackQueue::new(&kv);
    let ids: Vec<String> = (0..1200).map(|i| format!("r{i}")).collect();
    let entries: Vec<Waiting> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Waiting {
            id,
            matter: None,
            prefecture: None,
            priority: Priority::Normal,
            waiting_since_ms: T0 + i as i64,
        })
        .collect();
    // Some are queued already, one of them offered to a lawyer right now.
    assert_eq!(q.enqueue_many(&entries[..100]).await.unwrap(), 100);
    let (matters, places) = everyone();
    let lawyer = Lawyer {
        id: "L",
        matters: &matters,
        prefectures: &places,
    };
    assert_eq!(claim(&q, &lawyer, T0).await.as_deref(), Some("r0"));
    // The rebuild spans several pipelined batches and adds only what was missing.
    assert_eq!(q.enqueue_many(&entries).await.unwrap(), 1100);
    assert_eq!(
        q.waiting().await.unwrap(),
        1199,
        "r0 stays with its lawyer, not queued twice"
    );
    assert_eq!(q.position("r1").await.unwrap(), Some(1));
    assert_eq!(q.position("r1199").await.unwrap(), Some(1199));
}

#[tokio::test]
async fn a_lawyer_holds_one_offer_at_a_time() {
    let kv = Arc::new(kv());
    let q = CallbackQueue::new(&kv);
    for i in 0..8 {
        q.enqueue(&waiting(&format!("c{i}"), None, None, Priority::Normal, T0 + i))
            .await
            .unwrap();
    }
    let (matters, places) = everyone();
    let l = Lawyer {
        id: "L",
        matters: &matters,
        prefectures: &places,
    };
    // 20 claims at once by one lawyer: one entry is reserved, and every claim answers it.
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (kv, barrier) = (kv.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let (matters, places) = everyone();
            let l = Lawyer {
                id: "L",
                matters: &matters,
                prefectures: &places,
            };
            barrier.wait().await;
            CallbackQueue::new(&kv)
                .claim_next(&l, T0, 120_000)
                .await
                .unwrap()
                .unwrap()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|r| r.id == "c0" && r.lapses_at_ms == T0 + 120_000),
        "{answers:?}"
    );
    assert_eq!(answers.iter().filter(|r| !r.again).count(), 1, "reserved once");
    assert_eq!(q.held_by("L").await.unwrap().as_deref(), Some("c0"));
    assert_eq!(q.waiting().await.unwrap(), 7);

    // Declined: the lawyer holds nothing and may claim the next.
    assert!(q.decline("c0", "L").await.unwrap());
    assert_eq!(q.held_by("L").await.unwrap(), None);
    assert_eq!(claim(&q, &l, T0).await.as_deref(), Some("c1"));
    // Lapsed (the job): the same.
    assert_eq!(q.expire_offers(T0 + 121_000).await.unwrap(), ["c1"]);
    assert_eq!(q.held_by("L").await.unwrap(), None);
    assert_eq!(claim(&q, &l, T0 + 122_000).await.as_deref(), Some("c2"));
    // Its time up before the job came: the claim takes it back itself, as a lapse.
    let next = q.claim_next(&l, T0 + 243_000, 120_000).await.unwrap().unwrap();
    assert_eq!((next.id.as_str(), next.again), ("c3", false));
    assert_eq!(q.state("c2").await.unwrap().unwrap().0, "waiting");
    assert!(q.declined_by("c2", "L").await.unwrap());
    assert!(q.expire_offers(T0 + 243_000).await.unwrap().is_empty());
    // Accepted: no longer an offer.
    assert!(q.accept("c3", "L", T0 + 243_001).await.unwrap());
    assert_eq!(q.held_by("L").await.unwrap(), None);
    assert_eq!(claim(&q, &l, T0 + 243_000).await.as_deref(), Some("c4"));
    // Back in the queue after a failed attempt, or gone: the same.
    assert!(q.requeue("c4", T0 + HOUR).await.unwrap());
    assert_eq!(q.held_by("L").await.unwrap(), None);
    assert_eq!(claim(&q, &l, T0 + 243_000).await.as_deref(), Some("c5"));
    assert!(q.remove("c5").await.unwrap());
    assert_eq!(q.held_by("L").await.unwrap(), None);
    assert_eq!(claim(&q, &l, T0 + 243_000).await.as_deref(), Some("c6"));
    // Someone else gets another entry (c0, which only L declined); the lawyer still holds theirs.
    let m = Lawyer {
        id: "M",
        matters: &matters,
        prefectures: &places,
    };
    assert_eq!(claim(&q, &m, T0 + 243_000).await.as_deref(), Some("c0"));
    let again = q.claim_next(&l, T0 + 243_000, 120_000).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.again), ("c6", true));
    // Ending someone else's offer leaves the lawyer's alone.
    assert!(q.decline("c0", "M").await.unwrap());
    assert_eq!(q.held_by("L").await.unwrap().as_deref(), Some("c6"));
}
