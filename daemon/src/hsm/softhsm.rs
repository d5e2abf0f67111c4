//! Managed SoftHSM tokens: the ones the daemon creates for itself.
//!
//! Each cluster gets a directory with its own SoftHSM configuration, token
//! directory and private copy of the library, so clusters never share a
//! SoftHSM instance (one configuration per instance is SoftHSM's rule).
//! Tokens are initialized through PKCS#11 (`C_InitToken`, `C_InitPIN`),
//! with PINs the daemon generates and keeps in 0600 files.

use std::fs;
use std::path::{Path, PathBuf};

use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use super::error::{Context, HsmError};
use super::module::HsmModule;
use crate::paths::create_private_dir;
use crate::private_files::write_private;

/// Where a cluster's managed SoftHSM instance lives.
#[derive(Clone, Debug)]
pub struct SoftHsmDir {
    root: PathBuf,
}

impl SoftHsmDir {
    /// The layout under a cluster directory.
    pub fn new(cluster_dir: &Path) -> Self {
        Self { root: cluster_dir.to_owned() }
    }

    /// The SoftHSM configuration file.
    pub fn conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }

    /// The token directory.
    pub fn tokens(&self) -> PathBuf {
        self.root.join("tokens")
    }

    /// The private copy of the library.
    pub fn library(&self) -> PathBuf {
        self.root.join("lib").join("libsofthsm2.so")
    }

    /// Writes the configuration and refreshes the library copy from
    /// `system_library` (copied when missing or different in size, so an
    /// upgraded SoftHSM is picked up at the next start).
    pub fn prepare(&self, system_library: &Path) -> Result<(), HsmError> {
        create_private_dir(&self.tokens())?;
        create_private_dir(&self.root.join("lib"))?;
        let conf = format!(
            "# Written by p11kmsd for this cluster's private SoftHSM instance.\n\
             directories.tokendir = {}\n\
             objectstore.backend = file\n\
             log.level = ERROR\n\
             slots.removable = false\n\
             slots.mechanisms = ALL\n\
             library.reset_on_fork = false\n",
            self.tokens().display()
        );
        write_private(&self.conf(), conf.as_bytes())?;
        let source = fs::metadata(system_library).map_err(|e| HsmError::Module {
            path: system_library.display().to_string(),
            reason: format!("{e} (install softhsm2, or set hsm.softhsm_module)"),
        })?;
        let current = fs::metadata(self.library()).ok();
        if current.map(|m| m.len()) != Some(source.len()) {
            let tmp = self.library().with_extension("so.tmp");
            fs::copy(system_library, &tmp)?;
            fs::rename(&tmp, self.library())?;
        }
        Ok(())
    }

    /// Loads this cluster's SoftHSM instance.
    pub fn load(&self) -> Result<HsmModule, HsmError> {
        HsmModule::load_softhsm(&self.library(), &self.conf())
    }
}

/// Removes the files of the token with `serial` from `tokens` (the token
/// directory of a managed SoftHSM instance): what `softhsm2-util
/// --delete-token` does. For tokens made by a change that failed (a
/// restore): their sessions must be closed first. Returns whether a token
/// was found.
pub fn remove_token(tokens: &Path, serial: &str) -> Result<bool, HsmError> {
    for entry in fs::read_dir(tokens)? {
        let dir = entry?.path();
        let object = fs::read(dir.join("token.object")).unwrap_or_default();
        if !serial.is_empty() && object.windows(serial.len()).any(|w| w == serial.as_bytes()) {
            fs::remove_dir_all(&dir)?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Initializes a new token in the module's free slot: label, SO PIN, user
/// PIN. Returns its serial number.
pub fn init_token(module: &HsmModule, label: &str, so_pin: &str, user_pin: &str) -> Result<String, HsmError> {
    let ctx = module.ctx();
    let free = ctx
        .get_slots_with_token()
        .context(|| "C_GetSlotList".into())?
        .into_iter()
        .find(|slot| ctx.get_token_info(*slot).map(|info| !info.token_initialized()).unwrap_or(false))
        .ok_or_else(|| HsmError::Unexpected("SoftHSM offers no free slot".into()))?;
    let so = AuthPin::from(so_pin.to_owned());
    ctx.init_token(free, &so, label).context(|| format!("C_InitToken '{label}'"))?;
    // SoftHSM renumbers the slot once its token is initialized.
    let slot = module.find_token(label)?;
    let session = ctx.open_rw_session(slot).context(|| format!("C_OpenSession on '{label}'"))?;
    session.login(UserType::So, Some(&so)).context(|| format!("SO login on '{label}'"))?;
    session.init_pin(&AuthPin::from(user_pin.to_owned())).context(|| format!("C_InitPIN on '{label}'"))?;
    session.logout().context(|| format!("SO logout on '{label}'"))?;
    let info = ctx.get_token_info(slot).context(|| "C_GetTokenInfo".into())?;
    Ok(info.serial_number().trim().to_owned())
}
