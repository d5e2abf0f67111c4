//! The way to the daemon: blocking Unix-socket connections speaking the
//! `proto` frames, and the pool that shares them between threads.

pub mod connection;
pub mod pool;

pub use pool::{Pool, Stamp};
