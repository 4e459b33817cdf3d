//! The backfill engine: jobs declared in plan files run against named target
//! databases in keyset chunks, each chunk its own transaction, with a
//! checkpoint after each commit, dry-run, undo, verify, throttling, adaptive
//! chunk size, retries and isolation of failing keys.
mod apply;
pub mod chunk;
pub mod control;
pub mod created;
pub mod demo;
pub mod error;
pub mod facts;
pub mod health;
mod hold;
pub mod job;
pub mod metrics;
pub mod pace;
pub mod parity;
pub mod runner;
pub mod runs;
pub mod sandbox;
pub mod signal;
pub mod spec;
pub mod sql_functions;
pub mod start;
pub mod target;
pub mod target_read;
pub mod undo;
pub mod verify;
pub mod window;
