//! The audit trail's file format and its hash chain, shared by the daemon
//! that writes the trail and `p11kms audit verify` that checks a copy of
//! it (`docs/audit.md`).
//!
//! A trail is a directory of files, one a day (`YYYY-MM-DD.jsonl`, the
//! daemon clock's UTC date), each a JSON object a line:
//!
//! ```text
//! {"Hash":"<64 hex digits>","Record":{"Seq":7,"PrevHash":"<64 hex>","Event":{…}}}
//! ```
//!
//! `Hash` is SHA-256 of the previous record's hash (32 bytes) followed by
//! the bytes of `Record` exactly as written on the line, so verification
//! needs no canonical JSON: it hashes what it reads. `Seq` counts every
//! record of the trail from 1, across files; `PrevHash` repeats the hash
//! it chains from, so a file can be checked from its first line after
//! older files were pruned. A record changed, removed, reordered or cut
//! breaks the chain at that place ([`verify_dir`]); a tail cut together
//! with the records' own hashes is caught by the head the daemon keeps in
//! its store ([`Head`]).

use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Timestamp;

/// A record's chain hash.
pub type Hash = [u8; 32];

/// What the first record of a trail chains from.
pub const GENESIS: Hash = [0; 32];

/// The line's fixed opening, before the hash's hex digits.
const LINE_START: &str = "{\"Hash\":\"";
/// Between the hash and the record.
const LINE_MIDDLE: &str = "\",\"Record\":";

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventSource {
    /// The admin socket (`p11kms`).
    Admin,
    /// The data socket (`libp11kms.so`).
    Pkcs11,
}

/// Who made the call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIdentity {
    /// The peer's uid (from the kernel).
    pub uid: u32,
    /// The peer's gid, when the kernel gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// The uid's user name, when the system knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The peer's process id, when the kernel gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The app logged in (data plane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// Uses of one key version by one app for one operation, counted over at
/// most a second instead of a record each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Uses {
    /// How many calls.
    pub count: u64,
    /// The first one's time.
    pub first_time: Timestamp,
    /// The last one's time.
    pub last_time: Timestamp,
}

/// One event, in the shape of the spec's ActionTrail events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// When (daemon clock).
    pub event_time: Timestamp,
    /// The API operation (`CreateKey`, `GetSecretValue`) or the PKCS#11
    /// event (`Login`, `Sign`).
    pub event_name: String,
    /// Which socket.
    pub event_source: EventSource,
    /// The daemon's region.
    pub region: String,
    /// The call's id, unique in the trail.
    pub request_id: String,
    /// Who.
    pub user_identity: UserIdentity,
    /// The instance acted on, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// What was acted on: `key/<id>`, `key/<id>/version/<v>`,
    /// `alias/<name>`, `secret/<name>`, `secret/<name>/version/<v>`,
    /// `app/<name>`, `instance/<name>`, `cluster/<name>`, `image/<id>`,
    /// `object/<id>` (a token object applications created).
    #[serde(default)]
    pub resource_name: Vec<String>,
    /// The request, with every plaintext, secret value, PIN and key
    /// material removed.
    #[serde(default)]
    pub request_parameters: serde_json::Value,
    /// `Success`, or the error code.
    pub result: String,
    /// The error code of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Aggregated uses (data plane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<Uses>,
}

/// The result of a successful call.
pub const SUCCESS: &str = "Success";

/// One record: an event at its place in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Its number, from 1.
    pub seq: u64,
    /// The hash it chains from.
    #[serde(with = "hex_hash")]
    pub prev_hash: Hash,
    /// The event.
    pub event: Event,
}

/// The last record of a trail, as the daemon keeps it in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Head {
    /// Its number.
    pub seq: u64,
    /// Its hash.
    #[serde(with = "hex_hash")]
    pub hash: Hash,
}

impl Head {
    /// The head of an empty trail.
    pub const EMPTY: Self = Self { seq: 0, hash: GENESIS };
}

/// `SHA-256(prev || record_bytes)`.
pub fn chain_hash(prev: &Hash, record_bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(record_bytes);
    hasher.finalize().into()
}

/// The line of `record` (no newline) and its hash.
pub fn encode_line(record: &Record) -> Result<(String, Hash), serde_json::Error> {
    let body = serde_json::to_string(record)?;
    let hash = chain_hash(&record.prev_hash, body.as_bytes());
    Ok((format!("{LINE_START}{}{LINE_MIDDLE}{body}}}", hex(&hash)), hash))
}

/// A line read back: the hash it claims, the record, and the hash of the
/// record's bytes as they are.
#[derive(Debug)]
pub struct Line {
    /// The `Hash` written on the line.
    pub claimed: Hash,
    /// The record.
    pub record: Record,
    /// `chain_hash(record.prev_hash, the record's bytes)`.
    pub computed: Hash,
}

/// Reads one line; `None` when it is not a line of this format.
pub fn decode_line(line: &str) -> Option<Line> {
    let rest = line.strip_prefix(LINE_START)?;
    let (claimed, rest) = rest.split_at_checked(64)?;
    let body = rest.strip_prefix(LINE_MIDDLE)?.strip_suffix('}')?;
    let claimed = parse_hex(claimed)?;
    let record: Record = serde_json::from_str(body).ok()?;
    let computed = chain_hash(&record.prev_hash, body.as_bytes());
    Some(Line { claimed, record, computed })
}

/// The file of the records of `date` (`YYYY-MM-DD`).
pub fn file_name(date: &str) -> String {
    format!("{date}.jsonl")
}

/// The trail's files in `dir`, oldest first (by their date names).
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.file_name().and_then(|n| n.to_str()).is_some_and(is_trail_file))
        .collect();
    files.sort();
    Ok(files)
}

fn is_trail_file(name: &str) -> bool {
    let Some(date) = name.strip_suffix(".jsonl") else {
        return false;
    };
    date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
}

/// Where in the trail a problem is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Place {
    /// The file's name.
    pub file: String,
    /// The line, from 1.
    pub line: u64,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)
    }
}

/// The first break of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", rename_all_fields = "PascalCase")]
pub enum Problem {
    /// A line that is not a record.
    Malformed {
        /// Where.
        place: Place,
    },
    /// A record whose content no longer gives its hash.
    Changed {
        /// Where.
        place: Place,
        /// Its number.
        seq: u64,
    },
    /// Records missing before this one.
    Removed {
        /// Where the next record present is.
        place: Place,
        /// The first missing number.
        from_seq: u64,
        /// The last missing number.
        to_seq: u64,
    },
    /// A record out of its place.
    Reordered {
        /// Where.
        place: Place,
        /// The number found there.
        seq: u64,
        /// The number due there.
        expected_seq: u64,
    },
    /// A record that does not chain from the one before it (the one
    /// before was replaced, or this one was).
    Unchained {
        /// Where.
        place: Place,
        /// Its number.
        seq: u64,
    },
    /// The trail ends before the head the daemon recorded.
    Cut {
        /// The last record present (0: none).
        last_seq: u64,
        /// The head's number.
        head_seq: u64,
    },
    /// The record at the head's number is not the head.
    HeadMismatch {
        /// The head's number.
        head_seq: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { place } => write!(f, "{place}: not an audit record"),
            Self::Changed { place, seq } => write!(f, "{place}: record {seq} was changed (its hash no longer matches)"),
            Self::Removed { place, from_seq, to_seq } if from_seq == to_seq => {
                write!(f, "{place}: record {from_seq} before it was removed")
            }
            Self::Removed { place, from_seq, to_seq } => {
                write!(f, "{place}: records {from_seq} to {to_seq} before it were removed")
            }
            Self::Reordered { place, seq, expected_seq } => {
                write!(f, "{place}: record {seq} where record {expected_seq} is due (records were reordered)")
            }
            Self::Unchained { place, seq } => {
                write!(f, "{place}: record {seq} does not chain from the record before it (one of them was replaced)")
            }
            Self::Cut { last_seq, head_seq } => {
                write!(
                    f,
                    "the trail ends at record {last_seq} but the daemon's head is record {head_seq}: the tail was cut"
                )
            }
            Self::HeadMismatch { head_seq } => {
                write!(f, "record {head_seq} is not the head the daemon recorded: the trail was rewritten")
            }
        }
    }
}

/// What [`verify_dir`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Verification {
    /// Files read.
    pub files: u64,
    /// Records that chain correctly, up to the first problem.
    pub records: u64,
    /// The first record's number (0: none).
    pub first_seq: u64,
    /// The last record that chains correctly.
    pub last: Head,
    /// The first problem, if any. (Never skipped when absent: this
    /// struct also travels in postcard, which has no field names.)
    pub problem: Option<Problem>,
}

impl Verification {
    /// True when the whole trail chains and reaches the head.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Walks the trail in `dir` from its oldest file, and reports the first
/// record that was changed, removed, reordered or cut. With `head` (the
/// daemon's stored head), a trail ending before it, or differing at it,
/// is cut or rewritten.
pub fn verify_dir(dir: &Path, head: Option<Head>) -> std::io::Result<Verification> {
    let mut report = Verification { files: 0, records: 0, first_seq: 0, last: Head::EMPTY, problem: None };
    let files = files(dir)?;
    // A first pass learns which numbers are present anywhere, so that a
    // gap tells a record removed from one moved further down.
    let mut present = std::collections::HashSet::new();
    for path in &files {
        for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
            if let Some(read) = decode_line(&line?) {
                present.insert(read.record.seq);
            }
        }
    }
    let mut previous: Option<Head> = None;
    let mut at_head: Option<Hash> = None;
    'files: for path in files {
        report.files += 1;
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let reader = std::io::BufReader::new(std::fs::File::open(&path)?);
        for (index, line) in reader.lines().enumerate() {
            let line = line?;
            let place = Place { file: file.clone(), line: index as u64 + 1 };
            let Some(read) = decode_line(&line) else {
                report.problem = Some(Problem::Malformed { place });
                break 'files;
            };
            let seq = read.record.seq;
            if read.computed != read.claimed {
                report.problem = Some(Problem::Changed { place, seq });
                break 'files;
            }
            if let Some(before) = previous {
                let expected_seq = before.seq + 1;
                if seq > expected_seq && present.contains(&expected_seq) {
                    report.problem = Some(Problem::Reordered { place, seq, expected_seq });
                    break 'files;
                }
                if seq > expected_seq {
                    report.problem = Some(Problem::Removed { place, from_seq: expected_seq, to_seq: seq - 1 });
                    break 'files;
                }
                if seq < expected_seq {
                    report.problem = Some(Problem::Reordered { place, seq, expected_seq });
                    break 'files;
                }
                if read.record.prev_hash != before.hash {
                    report.problem = Some(Problem::Unchained { place, seq });
                    break 'files;
                }
            } else {
                report.first_seq = seq;
            }
            if head.is_some_and(|h| h.seq == seq) {
                at_head = Some(read.claimed);
            }
            let current = Head { seq, hash: read.claimed };
            previous = Some(current);
            report.last = current;
            report.records += 1;
        }
    }
    if report.problem.is_none()
        && let Some(head) = head
    {
        if report.last.seq < head.seq {
            report.problem = Some(Problem::Cut { last_seq: report.last.seq, head_seq: head.seq });
        } else if head.seq > 0 && at_head.is_some_and(|hash| hash != head.hash) {
            report.problem = Some(Problem::HeadMismatch { head_seq: head.seq });
        }
    }
    Ok(report)
}

/// Lower-case hex of a hash.
pub fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
pub fn parse_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de};

    use super::Hash;

    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&super::hex(hash))
        } else {
            serializer.serialize_bytes(hash)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            super::parse_hex(&text).ok_or_else(|| de::Error::custom("a hash is 64 hex digits"))
        } else {
            let bytes = <Vec<u8>>::deserialize(deserializer)?;
            bytes.try_into().map_err(|_| de::Error::custom("a hash is 32 bytes"))
        }
    }
}

#[cfg(test)]
mod tests;
