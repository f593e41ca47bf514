//! Pure rules: no AWS types, no I/O.

pub mod admission;
pub mod api_key;
pub mod booking;
pub mod catalog;
pub mod channel;
pub mod city;
pub mod layout;
pub mod limits;
pub mod loyalty;
pub mod payment;
pub mod pricing;
pub mod queue;
pub mod refund;
pub mod scheduling;
pub mod seat;
pub mod seating;
pub mod show;
pub mod ticket;
pub mod user;
