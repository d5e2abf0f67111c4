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
//!
//! Limits keep one peer from starving the others: caps on the connections
//! of each socket, in all and per uid ([`admission`], applied as soon as a
//! connection is accepted by [`accept`]), time limits on the handshake,
//! idleness, and each frame ([`connection::Limits`]), and a budget for the
//! replies held for peers that do not read them ([`unsent`]).

mod accept;
mod admin_connection;
mod admission;
mod connection;
mod data_connection;
mod framing;
mod listener;
mod peer;
mod shutdown;
mod unsent;
mod warning;

pub use listener::{Sockets, serve};
pub use shutdown::Shutdown;
