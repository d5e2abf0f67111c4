//! Comparison, Markdown report and the known-differences list of the
//! differential harness (`differential.rs`).
//!
//! `known_differences.txt` holds one line per differing call:
//!
//! ```text
//! case-name call-index softhsm-answer p11kms-answer  # the call
//! ```
//!
//! An answer is the symbolic `CK_RV` (`CKR_…`). When both modules gave the
//! same `CK_RV` but a different observation (an output length, an attribute
//! value), the observation follows after `|`, spaces written as `,`
//! (`CKR_OK|len=0` against `CKR_OK|len=16`). A call one module did not make
//! is `-`. Everything from `#` on is a comment; blank lines are ignored.
//! Lines are sorted by case name, then call index.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::cases::{Call, Class};
use super::ffi::rv_name;

/// The two records of one call.
#[derive(Debug)]
pub struct Row {
    pub case: &'static str,
    pub class: Class,
    pub index: usize,
    pub what: String,
    pub soft: Option<Call>,
    pub kms: Option<Call>,
}

impl Row {
    pub fn differs(&self) -> bool {
        match (&self.soft, &self.kms) {
            (Some(a), Some(b)) => a.rv != b.rv || a.obs != b.obs,
            _ => true,
        }
    }

    fn answer(call: Option<&Call>, show_obs: bool) -> String {
        match call {
            None => "-".to_owned(),
            Some(c) if show_obs && !c.obs.is_empty() => format!("{}|{}", rv_name(c.rv), c.obs.replace(' ', ",")),
            Some(c) => rv_name(c.rv),
        }
    }

    /// The `(softhsm, p11kms)` answers as the known-differences list writes them.
    pub fn answers(&self) -> (String, String) {
        let same_rv = matches!((&self.soft, &self.kms), (Some(a), Some(b)) if a.rv == b.rv);
        (Self::answer(self.soft.as_ref(), same_rv), Self::answer(self.kms.as_ref(), same_rv))
    }

    /// The line of the known-differences list, without its comment.
    pub fn key(&self) -> String {
        let (soft, kms) = self.answers();
        format!("{} {} {soft} {kms}", self.case, self.index)
    }
}

/// Lines up the calls of one case on the two modules.
pub fn compare(case: &'static str, class: Class, soft: Vec<Call>, kms: Vec<Call>) -> Vec<Row> {
    let n = soft.len().max(kms.len());
    let mut soft = soft.into_iter();
    let mut kms = kms.into_iter();
    (0..n)
        .map(|index| {
            let (a, b) = (soft.next(), kms.next());
            let what = a.as_ref().or(b.as_ref()).map(|c| c.what.clone()).unwrap_or_default();
            Row { case, class, index, what, soft: a, kms: b }
        })
        .collect()
}

/// The parsed known-differences list: the keys (line without comment).
pub fn parse_known(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect()
}

/// The known-differences file for the current differences, sorted.
pub fn render_known(rows: &[Row]) -> String {
    let mut lines: Vec<(&str, usize, String)> =
        rows.iter().filter(|r| r.differs()).map(|r| (r.case, r.index, format!("{}  # {}", r.key(), r.what))).collect();
    lines.sort();
    let mut text = String::from(
        "# Known differences between SoftHSM 2.6 and p11kms, one per call:\n\
         #   case-name call-index softhsm-answer p11kms-answer  # the call\n\
         # Written by `P11KMS_BLESS=1 cargo test -p p11kms-tests --test differential`;\n\
         # see the doc comment of tests/tests/differential.rs before editing.\n",
    );
    for (_, _, line) in lines {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn show(call: Option<&Call>) -> String {
    match call {
        None => "(not called)".to_owned(),
        Some(c) if c.obs.is_empty() => format!("`{}`", rv_name(c.rv)),
        Some(c) => format!("`{}` {}", rv_name(c.rv), cell(&c.obs)),
    }
}

/// Per class: (cases, calls, differing calls).
pub fn by_class(rows: &[Row]) -> Vec<(Class, usize, usize, usize)> {
    let mut classes: Vec<Class> = rows.iter().map(|r| r.class).collect();
    classes.sort();
    classes.dedup();
    classes
        .into_iter()
        .map(|class| {
            let of: Vec<&Row> = rows.iter().filter(|r| r.class == class).collect();
            let mut cases: Vec<&str> = of.iter().map(|r| r.case).collect();
            cases.dedup();
            (class, cases.len(), of.len(), of.iter().filter(|r| r.differs()).count())
        })
        .collect()
}

/// The whole comparison as Markdown: a summary by class, then every call.
pub fn markdown(rows: &[Row], cases: usize) -> String {
    let differ = rows.iter().filter(|r| r.differs()).count();
    let mut md = String::new();
    let _ = writeln!(md, "# SoftHSM 2.6 against p11kms: call by call\n");
    let _ = writeln!(md, "{cases} cases, {} calls compared, {differ} differ.\n", rows.len());
    let _ = writeln!(md, "| class | cases | calls | differ |\n|---|---:|---:|---:|");
    for (class, cases, calls, differ) in by_class(rows) {
        let _ = writeln!(md, "| {} | {cases} | {calls} | {differ} |", class.label());
    }
    let _ = writeln!(md, "\n| case | # | call | SoftHSM | p11kms | |\n|---|---:|---|---|---|---|");
    for r in rows {
        let mark = if r.differs() { "**differs**" } else { "" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {mark} |",
            r.case,
            r.index,
            cell(&r.what),
            show(r.soft.as_ref()),
            show(r.kms.as_ref())
        );
    }
    md
}
