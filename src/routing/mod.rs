//! The callback queue: consultations waiting for a lawyer to call back.
//!
//! SQL is the system of record; Redis holds the queue for fast, atomic hand-out. A consultation
//! is written to SQL first and queued second, and [`reconcile`] re-queues from SQL whatever
//! Redis is missing (after a Redis outage, flush or restart), so nothing waiting is lost.

pub mod callback;
pub mod dispatch;
pub mod queue;
pub mod reconcile;
pub mod report;
pub mod summary;
pub mod wait;

pub use queue::CallbackQueue;
pub use reconcile::reconcile;
