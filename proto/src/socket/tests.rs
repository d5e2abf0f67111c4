//! Unit tests of `socket`: reading frames (buffered, grown, bounded in
//! time), the spin gate, and sending without `SIGPIPE`.

use std::io::Write;

use super::*;
use crate::MAX_BODY_LEN;
use crate::frame::{MessageKind, encode_frame};

fn frame(id: u32, body: &[u8]) -> Vec<u8> {
    encode_frame(MessageKind::DataRequest, id, &body.to_vec()).unwrap_or_default()
}

#[test]
fn reads_frames_sent_together_one_at_a_time() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let mut both = frame(1, b"first");
    both.extend(frame(2, b"second"));
    a.write_all(&both).expect("write");
    let mut reader = FrameReader::new();
    let (h1, b1) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
    assert_eq!(h1.request_id, 1);
    assert!(reader.pending() > 0, "the second frame waits in the buffer");
    let (h2, b2) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
    assert_eq!(h2.request_id, 2);
    assert_ne!(b1.as_slice(), b2.as_slice());
    assert_eq!(reader.pending(), 0);
    drop(a);
    assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("eof").is_none());
}

#[test]
fn a_body_larger_than_the_buffer_arrives_whole() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let big: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| i as u8).collect();
    let sent = frame(9, &big);
    let writer = std::thread::spawn(move || a.write_all(&sent).map(|()| a));
    let mut reader = FrameReader::new();
    let (header, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
    assert_eq!(header.request_id, 9);
    let decoded: Vec<u8> = crate::decode_body(&body).expect("body");
    assert_eq!(decoded, big);
    assert!(writer.join().is_ok());
}

#[test]
fn a_frame_cut_short_is_truncated_and_a_bad_header_refused() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let whole = frame(3, b"cut");
    a.write_all(&whole[..whole.len() - 1]).expect("write");
    drop(a);
    let mut reader = FrameReader::new();
    assert!(matches!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER), Err(FrameError::Truncated)));

    let (mut a, b) = UnixStream::pair().expect("pair");
    a.write_all(&[0xff; HEADER_LEN]).expect("write");
    let mut reader = FrameReader::new();
    assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).is_err());
}

#[test]
fn a_spinning_wait_picks_up_a_late_frame_and_leaves_the_gate() {
    let gate = SpinGate::with_limit(1);
    let (mut a, b) = UnixStream::pair().expect("pair");
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        a.write_all(&frame(4, b"late")).map(|()| a)
    });
    let mut reader = FrameReader::new();
    // The budget runs out before the frame comes: the read then blocks.
    let spin = Spin { budget: Duration::from_micros(200), gate: Some(&gate) };
    let (header, _) = reader.read(&b, MAX_BODY_LEN, spin).expect("read").expect("frame");
    assert_eq!(header.request_id, 4);
    assert!(!reader.caught_polling(), "the frame came after the poll gave up");
    assert_eq!(gate.active(), 0, "a thread that stopped spinning is not counted");
    assert!(late.join().is_ok());
}

#[test]
fn a_frame_already_there_is_caught_while_polling() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    a.write_all(&frame(6, b"ready")).expect("write");
    let mut reader = FrameReader::new();
    let spin = Spin { budget: Duration::from_millis(5), gate: None };
    assert!(reader.read(&b, MAX_BODY_LEN, spin).expect("read").is_some());
    assert!(reader.caught_polling());
    a.write_all(&frame(7, b"again")).expect("write");
    assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").is_some());
    assert!(!reader.caught_polling(), "no poll, no catch");
}

#[test]
fn the_gate_admits_up_to_its_limit() {
    let gate = SpinGate::with_limit(2);
    let first = gate.try_enter();
    let second = gate.enter();
    assert!(first.is_some());
    assert!(gate.try_enter().is_none(), "two active threads fill a gate of two");
    drop(second);
    assert!(gate.try_enter().is_some());
    assert!(SpinGate::new().limit() >= 1);
}

#[test]
fn sending_to_a_closed_peer_is_an_error_not_a_signal() {
    let (a, b) = UnixStream::pair().expect("pair");
    drop(b);
    // In a child with the default SIGPIPE action (as in a C program
    // that loads the module), so that a signal would kill it. The child
    // only makes async-signal-safe calls before `_exit`.
    // SAFETY: see above; the parent only waits for the child.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: resetting a signal disposition and exiting are
        // async-signal-safe.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            let code = match send_all(&a, b"to nobody") {
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => 0,
                _ => 1,
            };
            libc::_exit(code);
        }
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "the child was killed by signal {}", libc::WTERMSIG(status));
    assert_eq!(libc::WEXITSTATUS(status), 0, "the send did not fail with EPIPE");
}

#[test]
fn send_all_delivers_a_frame_larger_than_the_socket_buffer() {
    let (a, b) = UnixStream::pair().expect("pair");
    let big: Vec<u8> = (0..CHUNK * 40).map(|i| (i % 251) as u8).collect();
    let sent = frame(5, &big);
    let writer = std::thread::spawn(move || send_all(&a, &sent).map(|()| a));
    let mut reader = FrameReader::new();
    let (_, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
    let decoded: Vec<u8> = crate::decode_body(&body).expect("body");
    assert_eq!(decoded, big);
    assert!(writer.join().is_ok_and(|r| r.is_ok()));
}

/// Records the largest allocation made by a thread that asked for it,
/// so a test can see what reading a frame allocates. Other threads'
/// allocations are not recorded.
mod largest_allocation {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Recording;

    thread_local! {
        static RECORDING: Cell<bool> = const { Cell::new(false) };
        static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    fn note(size: usize) {
        if RECORDING.with(Cell::get) {
            LARGEST.with(|largest| largest.set(largest.get().max(size)));
        }
    }

    // SAFETY: every call is passed on to the system allocator
    // unchanged; recording touches only const-initialized thread
    // locals, which never allocate.
    unsafe impl GlobalAlloc for Recording {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            // SAFETY: the caller's contract, passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Recording = Recording;

    /// Runs `f` and returns its result with the largest allocation it
    /// made on this thread.
    pub fn during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        LARGEST.with(|largest| largest.set(0));
        RECORDING.with(|recording| recording.set(true));
        let result = f();
        RECORDING.with(|recording| recording.set(false));
        (result, LARGEST.with(Cell::get))
    }
}

const PATIENT: Patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_secs(30) };

#[test]
fn a_body_is_allocated_as_it_arrives_and_a_stalled_one_is_refused() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let announced = 4 * 1024 * 1024;
    let arrived = 20 * 1024;
    a.write_all(&Header::new(MessageKind::DataRequest, 1, announced).encode()).expect("header");
    a.write_all(&vec![1u8; arrived]).expect("some of the body");
    let mut reader = FrameReader::new();
    let patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_millis(100) };
    let (result, largest) = largest_allocation::during(|| reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, patience));
    assert!(matches!(result, Err(FrameError::Stalled(limit)) if limit == patience.whole_frame), "{result:?}");
    // Doubling steps from what arrived: at most twice that (or the
    // first step), nowhere near the 4 MiB announced.
    assert!(largest <= 2 * arrived.max(CHUNK), "allocated {largest} bytes for {arrived} received");
}

#[test]
fn a_body_sent_in_pieces_arrives_whole_within_the_limits() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let big: Vec<u8> = (0..CHUNK * 100 + 5).map(|i| (i % 249) as u8).collect();
    let sent = frame(8, &big);
    let writer = std::thread::spawn(move || {
        for piece in sent.chunks(CHUNK * 7) {
            a.write_all(piece)?;
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok::<_, io::Error>(a)
    });
    let mut reader = FrameReader::new();
    let (header, body) = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("read").expect("frame");
    assert_eq!(header.request_id, 8);
    assert_eq!(crate::decode_body::<Vec<u8>>(&body).expect("body"), big);
    assert!(writer.join().is_ok_and(|r| r.is_ok()));
}

#[test]
fn a_reply_of_the_protocol_cap_still_arrives_whole() {
    // The module reads replies up to 16 MiB with `read`.
    let (a, b) = UnixStream::pair().expect("pair");
    let big = vec![0x5au8; MAX_BODY_LEN as usize - 8];
    let sent = frame(11, &big);
    assert!(sent.len() - HEADER_LEN <= MAX_BODY_LEN as usize);
    let writer = std::thread::spawn(move || send_all(&a, &sent).map(|()| a));
    let mut reader = FrameReader::new();
    let (header, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
    assert_eq!((header.request_id, body.len()), (11, header.body_len as usize));
    assert_eq!(crate::decode_body::<Vec<u8>>(&body).expect("body"), big);
    assert!(writer.join().is_ok_and(|r| r.is_ok()));
}

#[test]
fn a_frame_that_does_not_begin_in_time_is_idle_and_the_reader_goes_on() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    let mut reader = FrameReader::new();
    let short = Patience { first_byte: Duration::from_millis(30), whole_frame: Duration::from_secs(30) };
    let result = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, short);
    assert!(matches!(result, Err(FrameError::Idle(wait)) if wait == short.first_byte), "{result:?}");
    assert!(!reader.input_waiting(&b));
    a.write_all(&frame(12, b"late but welcome")).expect("write");
    assert!(reader.input_waiting(&b));
    let (header, _) = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("read").expect("frame");
    assert_eq!(header.request_id, 12);
    drop(a);
    assert!(reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("eof").is_none());
}

#[test]
fn a_header_cut_short_stalls_too() {
    let (mut a, b) = UnixStream::pair().expect("pair");
    a.write_all(&frame(13, b"x")[..5]).expect("write");
    let mut reader = FrameReader::new();
    let patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_millis(30) };
    assert!(matches!(reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, patience), Err(FrameError::Stalled(_))));
}

#[test]
fn a_read_timeout_is_reported_as_timed_out() {
    let (_a, b) = UnixStream::pair().expect("pair");
    b.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
    let mut reader = FrameReader::new();
    match reader.read(&b, MAX_BODY_LEN, Spin::NEVER) {
        Err(FrameError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
        other => panic!("expected a timeout, got {other:?}"),
    }
}
