//! Roster import into SQL, on both backends.

use hotline::domain::roster::{parse_csv, Skill};
use hotline::domain::Matter;

use crate::backends;
use crate::helpers::{spawn_app, Backend};

backends!(a_roster_is_imported_and_a_corrected_one_updates_it);

const EXAMPLE: &str = include_str!("../../config/roster.example.csv");

async fn a_roster_is_imported_and_a_corrected_one_updates_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let summary = app.state.db.import_roster(&parse_csv(EXAMPLE).unwrap()).await.unwrap();
    assert_eq!((summary.added, summary.updated), (3, 0));
    let lawyers = app.state.db.lawyers().await.unwrap();
    let zhang = lawyers.iter().find(|l| l.name == "张明").expect("imported");
    assert_eq!(zhang.max_cases, 3);
    assert_eq!(zhang.presence.as_str(), "offline");
    assert!(zhang.skills.contains(&Skill::SignLanguage.as_string()));
    assert!(zhang.skills.contains(&Skill::Matter(Matter::WorkInjury).as_string()));
    assert_eq!(zhang.regions, ["610100", "610113"]);
    assert_eq!(zhang.shifts.len(), 6);
    assert_eq!(zhang.exceptions.len(), 2);
    assert_eq!(zhang.exceptions[0].hours, None, "Christmas off");
    // Lawyers' numbers are stored encrypted like callers'.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM lawyers WHERE phone_enc LIKE '%13800000001%'")
            .await,
        0
    );

    // The office corrects a row and imports again: updated in place, old shifts replaced.
    let corrected = EXAMPLE.replace("mon-fri 09:00-17:00;sat 09:00-12:00", "tue 09:00-12:00");
    let summary = app
        .state
        .db
        .import_roster(&parse_csv(&corrected).unwrap())
        .await
        .unwrap();
    assert_eq!((summary.added, summary.updated), (0, 3));
    let lawyers = app.state.db.lawyers().await.unwrap();
    assert_eq!(lawyers.len(), 3);
    let zhang = lawyers.iter().find(|l| l.name == "张明").unwrap();
    assert_eq!(zhang.shifts.len(), 1);
    assert_eq!(zhang.shifts[0].weekday, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM lawyer_shifts").await, 1 + 5 + 3);
    app.stop().await;
}
