//! Pure rules: no AWS types, no I/O.

pub mod booking;
pub mod catalog;
pub mod city;
pub mod layout;
pub mod limits;
pub mod pricing;
pub mod queue;
pub mod show;
pub mod ticket;
pub mod user;
