//! The benchmark: each workload measured, in one run, three ways on the
//! same kind of SoftHSM token and keys: SoftHSM loaded directly, SoftHSM
//! through p11-kit's remoting (`p11-kit server` + `p11-kit-client.so`),
//! and p11kms (`libp11kms.so` talking to a `p11kmsd` on SoftHSM). The
//! targets take turns run by run. Plus the floors for any remoting on the
//! machine: a request/response ping-pong over a Unix socket between two
//! threads, sleeping in `read` and polling.
//!
//! For every figure: ops/s as the median of the runs, p50 and p99
//! latency, and the ratios p11kms/direct and p11kms/p11-kit. The secret
//! workloads (p11kms only: SoftHSM has no secrets) are set against
//! p11kms's AES-GCM 64 B encryption of the same run, and ECDSA signing
//! under a 50-statement app policy against the same under `--policy all`. Output: Markdown
//! tables on stdout and JSON in `target/bench.json`. Flags:
//! `--quick`, `--runs N`, `--only TEXT`, `--target NAME`,
//! `--backup-keys N` (the instance-backup figures' scale), and
//! `--memory [N]` for the memory run. See docs/performance.md.

mod admin;
mod audit;
mod backups;
mod keygen;
mod memory;
mod policies;
mod secrets;
mod setup;
mod workloads;

use std::error::Error;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::json;

use workloads::{Figure, Workload};

/// Measured runs per figure by default (`--runs N` for more); the median
/// is reported.
const RUNS: usize = 5;
/// Length of one run.
const RUN_TIME: Duration = Duration::from_millis(400);

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// One table row: a workload in a shape, and each target's figure.
type Row = (Workload, workloads::Shape, Vec<(&'static str, Option<Figure>)>);

/// A p11kms-only workload in a shape, and its reference workload
/// ([`Workload::reference`]) measured in turns with it.
type Reference = (Workload, workloads::Shape, Option<Figure>, Option<Figure>);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == memory::SOFTHSM_ALONE_FLAG) {
        let keys = args.get(position + 1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return memory::softhsm_alone_child(keys);
    }
    if let Some(position) = args.iter().position(|a| a == audit::SIGN_CHILD_FLAG) {
        let arg = |n: usize| args.get(position + n).cloned().unwrap_or_default();
        return audit::sign_child(&arg(1), &arg(2), arg(3).parse().unwrap_or(400));
    }
    if let Some(position) = args.iter().position(|a| a == "--memory") {
        let keys = args.get(position + 1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return memory_only(keys);
    }
    let quick = args.iter().any(|a| a == "--quick");
    // `--only TEXT`: just the workloads whose name contains TEXT, and the
    // key-creation run only if "key creation" does; for profiling one.
    let runs = args.iter().position(|a| a == "--runs").and_then(|p| args.get(p + 1)).and_then(|n| n.parse().ok());
    let runs: usize = runs.unwrap_or(RUNS).max(1);
    // `--target NAME`: measure only `direct`, `p11-kit` or `p11kms`.
    let target_filter = args.iter().position(|a| a == "--target").and_then(|p| args.get(p + 1)).cloned();
    let only = args.iter().position(|a| a == "--only").and_then(|p| args.get(p + 1)).cloned();
    let run_time = if quick { RUN_TIME / 4 } else { RUN_TIME };
    let targets = setup::Targets::prepare()?;
    let floor = ping_pong(run_time, false);
    let polling_floor = ping_pong(run_time, true);
    eprintln!("ping-pong floor: p50 {:.1} µs; both ends polling: p50 {:.1} µs", floor.p50_us, polling_floor.p50_us);

    let mut rows: Vec<Row> = Vec::new();
    // For each secret row, p11kms's AES-GCM 64 B measured in turns with it.
    let mut references: Vec<Reference> = Vec::new();
    for workload in Workload::all() {
        if only.as_ref().is_some_and(|text| !workload.name().contains(text.as_str())) {
            continue;
        }
        for shape in workloads::Shape::all() {
            let mut all = targets.all();
            all.retain(|t| target_filter.as_ref().is_none_or(|name| name == t.name));
            let measured = if let Some(reference) = workload.reference() {
                // Only p11kms has secrets and policies; its reference
                // workload takes turns with this one, for a ratio of the
                // same minutes.
                let Some(p11kms) = all.iter().find(|t| t.name == "p11kms") else {
                    continue;
                };
                let pair = [(*p11kms, workload), (*p11kms, reference)];
                let mut pair = workloads::measure_in_turns(&pair, shape, runs, run_time).into_iter();
                let (ours, theirs) = (pair.next().flatten(), pair.next().flatten());
                let label = format!("  ({} in turns)", reference.name());
                eprintln!("{label:<28} {:<24} {:<8} {}", shape.name(), "p11kms", describe(&theirs));
                references.push((workload, shape, ours.clone(), theirs));
                all.iter().map(|t| if t.name == "p11kms" { ours.clone() } else { None }).collect()
            } else {
                workloads::measure(&all, workload, shape, runs, run_time)
            };
            let mut figures = Vec::new();
            for (target, figure) in all.iter().zip(measured) {
                eprintln!("{:<28} {:<24} {:<8} {}", workload.name(), shape.name(), target.name, describe(&figure));
                figures.push((target.name, figure));
            }
            rows.push((workload, shape, figures));
        }
    }
    let keys_dir = tempfile::Builder::new().prefix("p11kms-bench-keys-").tempdir()?;
    let creation = if only.as_ref().is_none_or(|text| "key creation".contains(text.as_str())) {
        keygen::measure(&setup::binaries()?, keys_dir.path())?
    } else {
        Vec::new()
    };
    let audit_cost = if only.as_ref().is_none_or(|text| "audit trail".contains(text.as_str())) {
        Some(audit::measure(&setup::binaries()?, keys_dir.path(), runs, run_time)?)
    } else {
        None
    };
    // Instance backups (p11kms only; `--only backup`): the slowest part.
    let backup_figures = if only.as_ref().is_none_or(|text| "backups".contains(text.as_str())) {
        let keys = backups::keys_from_args(&args);
        Some(backups::measure(&setup::binaries()?, keys_dir.path(), runs, keys)?)
    } else {
        None
    };
    print_markdown(&rows, &floor, &polling_floor, runs);
    print_secrets(&references);
    print_policies(&references);
    print_key_creation(&creation);
    if let Some(cost) = &audit_cost {
        print_audit(cost);
    }
    if let Some(figures) = &backup_figures {
        figures.print();
    }
    let json = json!({
        "machine": setup::machine(),
        "floor": { "p50_us": floor.p50_us, "p99_us": floor.p99_us },
        "polling_floor": { "p50_us": polling_floor.p50_us, "p99_us": polling_floor.p99_us },
        "rows": rows.iter().map(|(w, s, figures)| json!({
            "workload": w.name(),
            "shape": s.name(),
            "figures": figures.iter().map(|(name, f)| json!({ "target": name, "figure": f.as_ref().map(Figure::to_json) })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "secrets_against_aes_gcm_64": references.iter().filter(|r| r.0 != Workload::EcdsaSignPolicy50).map(|(w, s, secret, aes)| json!({
            "workload": w.name(),
            "shape": s.name(),
            "p11kms": secret.as_ref().map(Figure::to_json),
            "aes_gcm_64_in_turns": aes.as_ref().map(Figure::to_json),
        })).collect::<Vec<_>>(),
        "policy_50_against_full_access": references.iter().filter(|r| r.0 == Workload::EcdsaSignPolicy50).map(|(w, s, fifty, full)| json!({
            "workload": w.name(),
            "shape": s.name(),
            "p11kms": fifty.as_ref().map(Figure::to_json),
            "full_access_in_turns": full.as_ref().map(Figure::to_json),
        })).collect::<Vec<_>>(),
        "audit_trail": audit_cost.as_ref().map(|c| json!({
            "ecdsa_sign_1_thread": { "on": c.sign[0].to_json(), "off": c.sign[1].to_json() },
            "ec_p256_key_creation_ms": { "on": c.key_creation_ms[0], "off": c.key_creation_ms[1] },
        })),
        "backups": backup_figures.as_ref().map(backups::BackupFigures::to_json),
        "key_creation_ms": creation.iter().map(|k| json!({ "spec": k.spec, "mirrors_0_1_2": k.median_ms })).collect::<Vec<_>>(),
    });
    std::fs::create_dir_all("target")?;
    std::fs::write("target/bench.json", serde_json::to_string_pretty(&json)?)?;
    drop(targets);
    Ok(())
}

/// `--memory [N]`: the daemon's RSS before and after N keys (default
/// 10,000) on a cluster of a primary and two mirrors and on a primary
/// alone, SoftHSM's own growth with N keys, and what the module adds to a
/// client.
fn memory_only(keys: usize) -> Result<()> {
    let bin = setup::binaries()?;
    let dir = tempfile::Builder::new().prefix("p11kms-bench-memory-").tempdir()?;
    const MIRRORS: u32 = 2;
    let tokens = u64::from(MIRRORS) + 1;
    let mirrored = memory::daemon_with_keys(&bin, &dir.path().join("two-mirrors"), keys, MIRRORS)?;
    let single = memory::daemon_with_keys(&bin, &dir.path().join("no-mirror"), keys, 0)?;
    let softhsm_kib = memory::softhsm_alone(keys)?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let grown = |m: &memory::Memory| m.daemon_after_kib.saturating_sub(m.daemon_before_kib);
    // What is left of the daemon's growth once SoftHSM's share (one key
    // object per token) is taken away: p11kms's own registry, store and
    // caches.
    let own = |m: &memory::Memory, tokens: u64| grown(m).saturating_sub(tokens * softhsm_kib);
    println!(
        "Machine: {}
",
        setup::machine()
    );
    println!("| measure | primary + 2 mirrors | primary only |");
    println!("|---|---|---|");
    println!(
        "| daemon RSS, no key | {:.1} MiB | {:.1} MiB |",
        mib(mirrored.daemon_before_kib),
        mib(single.daemon_before_kib)
    );
    println!(
        "| daemon RSS, {keys} keys | {:.1} MiB | {:.1} MiB |",
        mib(mirrored.daemon_after_kib),
        mib(single.daemon_after_kib)
    );
    println!(
        "| SoftHSM's share ({keys} keys × tokens, measured alone) | {:.1} MiB | {:.1} MiB |",
        mib(tokens * softhsm_kib),
        mib(softhsm_kib)
    );
    println!(
        "| p11kms's own growth (the rest) | {:.1} MiB | {:.1} MiB |",
        mib(own(&mirrored, tokens)),
        mib(own(&single, 1))
    );
    println!("| time to make them through PKCS#11 | {:.0} s | {:.0} s |", mirrored.seconds, single.seconds);
    println!(
        "\nSoftHSM alone, {keys} AES-256 keys on one token: grows by {:.1} MiB ({:.1} KiB a key).",
        mib(softhsm_kib),
        softhsm_kib as f64 / keys.max(1) as f64
    );
    println!("Module in a client (loaded, initialized, logged in): {:.1} MiB.", mib(mirrored.module_kib));
    Ok(())
}

fn describe(figure: &Option<Figure>) -> String {
    match figure {
        Some(f) => format!("{:>9.0} ops/s  p50 {:>7.1} µs  p99 {:>7.1} µs", f.ops_per_s, f.p50_us, f.p99_us),
        None => "not supported".to_owned(),
    }
}

fn ratio(ours: &Option<Figure>, theirs: &Option<Figure>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b.ops_per_s > 0.0 => format!("{:.2}", a.ops_per_s / b.ops_per_s),
        _ => "–".to_owned(),
    }
}

/// The speed ratio by median latency (theirs / ours): steadier than
/// ops/s when other work shares the machine, since a stall moves the
/// throughput of a run but hardly its median.
fn latency_ratio(ours: &Option<Figure>, theirs: &Option<Figure>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if a.p50_us > 0.0 => format!("{:.2}", b.p50_us / a.p50_us),
        _ => "–".to_owned(),
    }
}

fn cell(figure: &Option<Figure>) -> String {
    match figure {
        Some(f) => format!("{:.0} ({:.0}/{:.0})", f.ops_per_s, f.p50_us, f.p99_us),
        None => "not supported".to_owned(),
    }
}

/// The cell of a target for `workload`: SoftHSM (direct or behind
/// p11-kit) has no secrets to read and no app policies.
fn target_cell(workload: Workload, target: &str, figure: &Option<Figure>) -> String {
    if workload.p11kms_only() && target != "p11kms" { "p11kms only".to_owned() } else { cell(figure) }
}

fn print_markdown(rows: &[Row], floor: &Figure, polling_floor: &Figure, runs: usize) {
    println!("Machine: {}", setup::machine());
    println!(
        "Unix-socket ping-pong floor: p50 {:.1} µs, p99 {:.1} µs (both ends polling instead of sleeping: p50 {:.1} µs, \
         p99 {:.1} µs). Cells: ops/s, median of {runs} runs (p50/p99 latency in µs).\n",
        floor.p50_us, floor.p99_us, polling_floor.p50_us, polling_floor.p99_us
    );
    println!(
        "| workload | threads/sessions | SoftHSM direct | p11-kit remoting | p11kms | p11kms/direct | p11kms/p11-kit |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (workload, shape, figures) in rows {
        let get = |name: &str| figures.iter().find(|(n, _)| *n == name).and_then(|(_, f)| f.clone());
        let (direct, kit, ours) = (get("direct"), get("p11-kit"), get("p11kms"));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            workload.name(),
            shape.name(),
            target_cell(*workload, "direct", &direct),
            target_cell(*workload, "p11-kit", &kit),
            cell(&ours),
            ratio(&ours, &direct),
            ratio(&ours, &kit)
        );
    }
}

/// The secret workloads against p11kms's AES-256-GCM encryption of 64 B
/// measured in turns with them (the target of issue 13: a PKCS#11 read of
/// a 1 KiB secret at least half its ops/s).
fn print_secrets(references: &[Reference]) {
    let references: Vec<&Reference> =
        references.iter().filter(|r| r.0.reference() == Some(Workload::AesGcm64)).collect();
    if references.is_empty() {
        return;
    }
    println!(
        "\nSecrets (p11kms only: SoftHSM and p11-kit hold none) against AES-256-GCM encrypt 64 B through the \
         module, the two taking turns run by run, ops/s:\n"
    );
    println!("| workload | threads/sessions | p11kms | AES-256-GCM encrypt 64 B | secret / AES-GCM 64 B |");
    println!("|---|---|---|---|---|");
    for (workload, shape, secret, aes) in references {
        println!(
            "| {} | {} | {} | {} | {} |",
            workload.name(),
            shape.name(),
            cell(secret),
            cell(aes),
            ratio(secret, aes)
        );
    }
}

/// The audit trail on against off (the target of issue 15: signing at
/// least 0.95×, key creation at least 0.9×).
fn print_audit(cost: &audit::AuditCost) {
    let [on, off] = &cost.sign;
    let [on_ms, off_ms] = cost.key_creation_ms;
    println!(
        "\nAudit trail on against off (two daemons alike but for `[audit] enabled`, taking turns run by run; \
         signing in a child process per run, key creation through the CLI, EC P-256):\n"
    );
    println!("| measure | trail on | trail off | on / off | on / off, by p50 latency |");
    println!("|---|---|---|---|---|");
    let (on, off) = (Some(on.clone()), Some(off.clone()));
    println!(
        "| ECDSA P-256 sign, 1 thread, ops/s (p50/p99 µs) | {} | {} | {} | {} |",
        cell(&on),
        cell(&off),
        ratio(&on, &off),
        latency_ratio(&on, &off)
    );
    let speed = if on_ms > 0.0 { format!("{:.2}", off_ms / on_ms) } else { "–".into() };
    println!("| key creation, median ms (ratio of speeds) | {on_ms:.1} | {off_ms:.1} | {speed} | – |");
}

/// ECDSA signing under a 50-statement policy against the same under
/// `--policy all`, the two taking turns run by run (the target of issue
/// 14: at least 0.95× the ops/s).
fn print_policies(references: &[Reference]) {
    let references: Vec<&Reference> = references.iter().filter(|r| r.0 == Workload::EcdsaSignPolicy50).collect();
    if references.is_empty() {
        return;
    }
    println!(
        "\nApp policies (p11kms only): ECDSA P-256 signing with a {}-statement policy whose last statement names \
         the key, against the same with `--policy all` (one statement), taking turns run by run, ops/s:\n",
        policies::STATEMENTS
    );
    println!("| threads/sessions | 50 statements | `--policy all` | 50 / all, ops/s | 50 / all, by p50 latency |");
    println!("|---|---|---|---|---|");
    for (_, shape, fifty, full) in references {
        println!(
            "| {} | {} | {} | {} | {} |",
            shape.name(),
            cell(fifty),
            cell(full),
            ratio(fifty, full),
            latency_ratio(fifty, full)
        );
    }
}

fn print_key_creation(creation: &[keygen::KeyCreation]) {
    println!("\nKey creation through the admin API (`p11kms key create`, CLI start-up included), median ms:\n");
    println!("| key spec | no mirror | 1 mirror | 2 mirrors | 2 mirrors / none |");
    println!("|---|---|---|---|---|");
    for k in creation {
        let [none, one, two] = k.median_ms;
        let ratio = if none > 0.0 { format!("{:.2}", two / none) } else { "–".to_owned() };
        println!("| {} | {none:.1} | {one:.1} | {two:.1} | {ratio} |", k.spec);
    }
}

/// Request/response over a Unix socket pair between two threads: 16 bytes
/// each way, as a remoting layer's smallest exchange. Both ends sleep in
/// `read`, or with `polling` both poll without blocking (yielding between
/// polls), which is what p11kms does while a CPU is free.
fn ping_pong(run_time: Duration, polling: bool) -> Figure {
    let Ok((mut a, mut b)) = UnixStream::pair() else {
        return Figure::default();
    };
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        while receive(&mut b, &mut buf, polling) {
            if b.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut samples = Vec::new();
    let mut buf = [0u8; 16];
    let start = Instant::now();
    while start.elapsed() < run_time * RUNS as u32 {
        let t = Instant::now();
        if a.write_all(&buf).is_err() || !receive(&mut a, &mut buf, polling) {
            break;
        }
        samples.push(t.elapsed());
    }
    drop(a);
    let _ = echo.join();
    Figure::from_samples(&samples, start.elapsed())
}

/// Fills `buf` from `stream`; false at end of stream or on an error.
fn receive(stream: &mut UnixStream, buf: &mut [u8; 16], polling: bool) -> bool {
    if !polling {
        return stream.read_exact(buf).is_ok();
    }
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: `recv` writes at most `buf.len() - filled` bytes into the
        // free part of `buf`, which lives for the call.
        let n = unsafe {
            libc::recv(
                std::os::fd::AsRawFd::as_raw_fd(stream),
                buf[filled..].as_mut_ptr().cast(),
                buf.len() - filled,
                libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => return false,
            n if n > 0 => filled += n as usize,
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock => {
                // SAFETY: no arguments; only gives up the CPU.
                unsafe { libc::sched_yield() };
            }
            _ => return false,
        }
    }
    true
}
