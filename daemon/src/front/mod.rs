//! The daemon's front end: the two Unix sockets, who may use them, framing,
//! one handler per connection, and graceful shutdown.
//!
//! * The **data socket** is accepted by a tokio listener; each connection
//!   then gets its own OS thread that reads a frame, runs the PKCS#11 work
//!   on that same thread, and writes the reply. No hand-off between
//!   threads sits on the path of a call, and no HSM call ever runs on the
//!   async executor.
//! * The **admin socket** (mode 0600, peers checked by uid) is served by
//!   async tasks that hand each request to the blocking pool.

mod admin_connection;
mod data_connection;
mod framing;
mod listener;
mod peer;
mod shutdown;

pub use listener::{Sockets, serve};
pub use shutdown::Shutdown;
