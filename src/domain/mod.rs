//! Pure domain types, no I/O. Each type parses its input, so a value that exists is valid.

pub mod consultation;
pub mod phone;
pub mod spoken;
pub mod ticket;

pub use consultation::{Channel, ConsultationStatus};
pub use phone::PhoneNumber;
pub use ticket::Ticket;
