//! Key creation through the admin API with 0, 1 and 2 mirrors: one daemon
//! per cluster size (`bootstrap.mirrors`), each asked for AES-256 and
//! EC P-256 keys through the `p11kms` CLI, one at a time. The CLI's own
//! start-up is part of every figure and the same for all three, so the
//! ratio to "no mirror" is what the figures are for.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::setup::Daemon;

/// Keys created per figure; the median is reported.
const KEYS: usize = 15;

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
    let mut medians = [[0.0; 3]; 2];
    for mirrors in 0..3u32 {
        let state = dir.join(format!("keygen-{mirrors}"));
        let daemon = Daemon::start(bin, &state, Some(mirrors))?;
        for (s, spec) in specs.iter().enumerate() {
            let mut times = Vec::with_capacity(KEYS);
            for _ in 0..KEYS {
                let start = Instant::now();
                let out = Command::new(bin.join("p11kms"))
                    .args(["key", "create", "--instance", "hsm1", "--key-spec", spec])
                    .env("P11KMS_ADMIN_SOCKET", daemon.admin_socket())
                    .stdout(Stdio::null())
                    .output()?;
                if !out.status.success() {
                    return Err(format!("key create: {}", String::from_utf8_lossy(&out.stderr)).into());
                }
                times.push(start.elapsed());
            }
            if let Some(row) = medians.get_mut(s) {
                row[mirrors as usize] = median_ms(&mut times);
            }
        }
    }
    Ok(specs.iter().zip(medians).map(|(spec, median_ms)| KeyCreation { spec, median_ms }).collect())
}

fn median_ms(times: &mut [Duration]) -> f64 {
    times.sort();
    times.get(times.len() / 2).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0)
}
