//! Pure rules: no AWS types, no I/O.

pub mod catalog;
pub mod city;
pub mod layout;
pub mod show;
pub mod user;
