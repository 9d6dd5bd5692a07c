//! One module per family of commands; each takes settings and parsed
//! arguments and returns `anyhow::Result`. `main.rs` turns errors into exit
//! codes.

pub(crate) mod accounts;
pub(crate) mod demo;
pub(crate) mod flow;
pub(crate) mod login;
