//! Test helpers: temporary directories, and a fake daemon that speaks the
//! real `proto` frames over a real Unix socket, answering with a closure.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::error::ProtocolError;
use p11kms_proto::frame::{encode_frame, read_frame};
use p11kms_proto::{MAX_BODY_LEN, MessageKind, decode_body};

use crate::lock;

/// A fresh empty directory of its own for one test, removed when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("p11kms-{tag}-")).tempdir().expect("temp dir")
}

/// What the fake daemon does with a request.
#[derive(Debug)]
pub enum Action {
    /// Answer normally.
    Reply(DataResult),
    /// Answer with another request id.
    WrongId(DataResult),
    /// Send a protocol error frame and close.
    Refuse(ProtocolError),
    /// Close without answering.
    Hangup,
}

type Handler = dyn Fn(&DataRequest) -> Action + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    boot_id: Mutex<[u8; 16]>,
    max_body_len: AtomicU32,
    frames: Mutex<Vec<(u32, DataRequest)>>,
    connections: AtomicUsize,
    streams: Mutex<Vec<UnixStream>>,
    stopped: AtomicBool,
}

/// A daemon double on a Unix socket.
pub struct FakeDaemon {
    path: PathBuf,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for FakeDaemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDaemon").field("path", &self.path).finish()
    }
}

impl FakeDaemon {
    /// Starts on a socket in a fresh temporary directory.
    pub fn start(handler: impl Fn(&DataRequest) -> Action + Send + Sync + 'static) -> Self {
        let dir = temp_dir("daemon");
        let path = dir.path().join("data.sock");
        Self::launch(path, Some(dir), Box::new(handler))
    }

    /// Starts on a given socket path.
    pub fn start_at(path: PathBuf, handler: impl Fn(&DataRequest) -> Action + Send + Sync + 'static) -> Self {
        Self::launch(path, None, Box::new(handler))
    }

    fn launch(path: PathBuf, dir: Option<tempfile::TempDir>, handler: Box<Handler>) -> Self {
        let shared = Arc::new(Shared {
            handler,
            boot_id: Mutex::new(fresh_boot_id()),
            max_body_len: AtomicU32::new(MAX_BODY_LEN),
            frames: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            streams: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        });
        let listener = UnixListener::bind(&path).expect("bind fake daemon");
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                if let Ok(clone) = stream.try_clone() {
                    lock(&accept_shared.streams).push(clone);
                }
                let serve_shared = Arc::clone(&accept_shared);
                std::thread::spawn(move || serve(stream, &serve_shared));
            }
        });
        Self { path, shared, accept: Some(accept), _dir: dir }
    }

    /// The socket path.
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Every frame received: (request id, request), Hello included.
    pub fn frames(&self) -> Vec<(u32, DataRequest)> {
        lock(&self.shared.frames).clone()
    }

    /// Every request received except Hello.
    pub fn requests(&self) -> Vec<DataRequest> {
        self.frames()
            .into_iter()
            .map(|(_, request)| request)
            .filter(|request| !matches!(request, DataRequest::Hello { .. }))
            .collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Sets the body limit announced to new connections.
    pub fn set_max_body_len(&self, limit: u32) {
        self.shared.max_body_len.store(limit, Ordering::SeqCst);
    }

    /// Simulates a restart: every connection is closed and new ones see a
    /// new boot id.
    pub fn restart(&self) {
        *lock(&self.shared.boot_id) = fresh_boot_id();
        close_all(&self.shared);
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        close_all(&self.shared);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn close_all(shared: &Shared) {
    for stream in lock(&shared.streams).drain(..) {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

fn fresh_boot_id() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    id[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    id
}

fn serve(mut stream: UnixStream, shared: &Shared) {
    use std::io::Write;
    loop {
        let Ok(Some((header, body))) = read_frame(&mut stream, MAX_BODY_LEN) else {
            return;
        };
        let Ok(request) = decode_body::<DataRequest>(&body) else {
            return;
        };
        lock(&shared.frames).push((header.request_id, request.clone()));
        let action = match &request {
            DataRequest::Hello { .. } => Action::Reply(Ok(DataReply::Welcome {
                daemon_version: "fake".into(),
                boot_id: *lock(&shared.boot_id),
                max_body_len: shared.max_body_len.load(Ordering::SeqCst),
            })),
            other => (shared.handler)(other),
        };
        let (frame, close) = match action {
            Action::Reply(result) => (encode_frame(MessageKind::DataResponse, header.request_id, &result), false),
            Action::WrongId(result) => {
                (encode_frame(MessageKind::DataResponse, header.request_id.wrapping_add(100), &result), false)
            }
            Action::Refuse(refusal) => (encode_frame(MessageKind::ProtocolError, header.request_id, &refusal), true),
            Action::Hangup => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return;
            }
        };
        let Ok(frame) = frame else { return };
        if stream.write_all(&frame).is_err() {
            return;
        }
        if close {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}
