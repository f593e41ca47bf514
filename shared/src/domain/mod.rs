//! Pure rules: no AWS types, no I/O.

pub mod booking;
pub mod catalog;
pub mod city;
pub mod layout;
pub mod pricing;
pub mod seat;
pub mod show;
pub mod ticket;
pub mod user;
