//! Key creation through the admin API with 0, 1 and 2 mirrors: one daemon
//! per cluster size (`bootstrap.mirrors`), each asked for AES-256 and
//! EC P-256 keys through the `p11kms` CLI, one at a time and in turns (a
//! key from each daemon, then the next), so that the machine's load
//! swings touch the three alike. The CLI's own start-up is part of every
//! figure and the same for all three, so the ratio to "no mirror" is what
//! the figures are for.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::setup::Daemon;

/// Keys created per figure; the median is reported.
const KEYS: usize = 25;

/// Median time to create one key, by key spec and mirror count.
#[derive(Debug, Clone)]
pub struct KeyCreation {
    /// `AES_256` or `EC_P256`.
    pub spec: &'static str,
    /// Median milliseconds with 0, 1 and 2 mirrors.
    pub median_ms: [f64; 3],
}

/// Measures key creation with 0, 1 and 2 mirrors.
pub fn measure(bin: &Path, dir: &Path) -> Result<Vec<KeyCreation>> {
    let specs = ["AES_256", "EC_P256"];
    let daemons = (0..3u32)
        .map(|mirrors| Daemon::start(bin, &dir.join(format!("keygen-{mirrors}")), Some(mirrors)))
        .collect::<Result<Vec<_>>>()?;
    let mut times = vec![vec![Vec::with_capacity(KEYS); daemons.len()]; specs.len()];
    for _ in 0..KEYS {
        for (s, spec) in specs.iter().enumerate() {
            for (m, daemon) in daemons.iter().enumerate() {
                let start = Instant::now();
                let out = Command::new(bin.join("p11kms"))
                    .args(["key", "create", "--instance", "hsm1", "--key-spec", spec])
                    .env("P11KMS_ADMIN_SOCKET", daemon.admin_socket())
                    .stdout(Stdio::null())
                    .output()?;
                if !out.status.success() {
                    return Err(format!("key create: {}", String::from_utf8_lossy(&out.stderr)).into());
                }
                times[s][m].push(start.elapsed());
            }
        }
    }
    Ok(specs
        .iter()
        .zip(times)
        .map(|(spec, mut by_mirrors)| {
            let mut median = [0.0; 3];
            for (slot, samples) in median.iter_mut().zip(by_mirrors.iter_mut()) {
                *slot = median_ms(samples);
            }
            KeyCreation { spec, median_ms: median }
        })
        .collect())
}

fn median_ms(times: &mut [Duration]) -> f64 {
    times.sort();
    times.get(times.len() / 2).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0)
}
