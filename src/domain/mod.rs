//! Pure domain types, no I/O. Each type parses its input, so a value that exists is valid.

pub mod account;
pub mod callback;
pub mod certificate;
pub mod consultation;
pub mod legal_aid;
pub mod matter;
pub mod phone;
pub mod region;
pub mod roster;
pub mod spoken;
pub mod ticket;

pub use account::{Role, ServiceForm};
pub use certificate::{DisabilityCategory, DisabilityCertificate, IdError, ResidentId};
pub use consultation::{Channel, ConsultationStatus};
pub use matter::Matter;
pub use phone::PhoneNumber;
pub use region::Regions;
pub use ticket::Ticket;
