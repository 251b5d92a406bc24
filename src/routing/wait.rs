//! Expected wait: the caller's place in the queue, the handling time of recent callbacks and
//! how many lawyers are on duty now.

use chrono::Utc;

use crate::domain::callback::Presence;
use crate::storage::{Db, StorageError};

/// Recent completed callbacks the average is taken over.
const SAMPLE: i64 = 50;

/// Minutes until a caller with `ahead` people before them is likely called back.
pub async fn expected_minutes(db: &Db, ahead: u64, default_handling_minutes: i64) -> Result<u64, StorageError> {
    let handled = db.recent_handling_secs(SAMPLE).await?;
    let handling_secs = if handled.is_empty() {
        default_handling_minutes * 60
    } else {
        handled.iter().sum::<i64>() / handled.len() as i64
    };
    let now = Utc::now();
    let on_duty = db
        .lawyers()
        .await?
        .iter()
        .filter(|l| l.presence != Presence::Offline && crate::domain::roster::on_duty(&l.shifts, &l.exceptions, now))
        .count()
        .max(1) as u64;
    Ok(estimate(ahead, handling_secs.max(60) as u64, on_duty))
}

/// Everyone ahead and this caller, served `lawyers` at a time, each taking `handling_secs`.
pub fn estimate(ahead: u64, handling_secs: u64, lawyers: u64) -> u64 {
    let rounds = (ahead + 1).div_ceil(lawyers.max(1));
    (rounds * handling_secs).div_ceil(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_with_the_queue_and_shrink_with_lawyers() {
        assert_eq!(estimate(0, 600, 1), 10);
        assert_eq!(estimate(3, 600, 1), 40);
        assert_eq!(estimate(3, 600, 2), 20);
        assert_eq!(estimate(0, 90, 5), 2, "rounded up to whole minutes");
    }
}
