//! The daemon's front end: the two Unix sockets, who may use them, framing,
//! one handler per connection, and graceful shutdown.
//!
//! Both sockets are accepted by tokio listeners ([`listener`]); each
//! connection then gets its own OS thread running the one frame loop
//! ([`connection`]): read a frame, have its plane answer it on that same
//! thread, write the reply. No hand-off between threads sits on the path
//! of a call, and no HSM call ever runs on the async executor.
//!
//! * The **data socket** carries PKCS#11 calls ([`data_connection`]).
//! * The **admin socket** (mode 0600, peers checked by uid) carries the
//!   KMS API's calls ([`admin_connection`]).

mod admin_connection;
mod connection;
mod data_connection;
mod framing;
mod listener;
mod peer;
mod shutdown;

pub use listener::{Sockets, serve};
pub use shutdown::Shutdown;
