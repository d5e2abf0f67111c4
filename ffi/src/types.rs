//! Rust shapes of the PKCS#11 information structures. The boundary turns
//! them into the fixed-size, blank-padded C structures.

use cryptoki_sys::{CK_FLAGS, CK_SLOT_ID, CK_STATE, CK_ULONG};

/// `C_Initialize` arguments, checked for consistency by the boundary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitArgs {
    /// `CKF_OS_LOCKING_OK` was set.
    pub os_locking_ok: bool,
    /// The application supplied all four mutex callbacks.
    pub app_mutexes: bool,
    /// `CKF_LIBRARY_CANT_CREATE_OS_THREADS` was set.
    pub no_os_threads: bool,
}

/// `CK_INFO` without the cryptoki version, which the table in use decides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// Manufacturer (up to 32 bytes).
    pub manufacturer: String,
    /// Library description (up to 32 bytes).
    pub description: String,
    /// Library version (major, minor).
    pub library_version: (u8, u8),
}

/// `CK_SLOT_INFO`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotInfo {
    /// Slot description (up to 64 bytes).
    pub description: String,
    /// Manufacturer (up to 32 bytes).
    pub manufacturer: String,
    /// `CKF_TOKEN_PRESENT`, `CKF_REMOVABLE_DEVICE`, `CKF_HW_SLOT`.
    pub flags: CK_FLAGS,
    /// Hardware version.
    pub hardware_version: (u8, u8),
    /// Firmware version.
    pub firmware_version: (u8, u8),
}

/// `CK_TOKEN_INFO`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenInfo {
    /// Label (up to 32 bytes).
    pub label: String,
    /// Manufacturer (up to 32 bytes).
    pub manufacturer: String,
    /// Model (up to 16 bytes).
    pub model: String,
    /// Serial number (up to 16 bytes).
    pub serial: String,
    /// `CKF_*` token flags.
    pub flags: CK_FLAGS,
    /// Most sessions (`CK_EFFECTIVELY_INFINITE` is 0).
    pub max_session_count: CK_ULONG,
    /// Sessions open now.
    pub session_count: CK_ULONG,
    /// Most read/write sessions.
    pub max_rw_session_count: CK_ULONG,
    /// Read/write sessions open now.
    pub rw_session_count: CK_ULONG,
    /// Longest PIN.
    pub max_pin_len: CK_ULONG,
    /// Shortest PIN.
    pub min_pin_len: CK_ULONG,
    /// Public memory in total (`CK_UNAVAILABLE_INFORMATION` when unknown).
    pub total_public_memory: CK_ULONG,
    /// Public memory free.
    pub free_public_memory: CK_ULONG,
    /// Private memory in total.
    pub total_private_memory: CK_ULONG,
    /// Private memory free.
    pub free_private_memory: CK_ULONG,
    /// Hardware version.
    pub hardware_version: (u8, u8),
    /// Firmware version.
    pub firmware_version: (u8, u8),
    /// Token clock as `YYYYMMDDhhmmss00` when `CKF_CLOCK_ON_TOKEN` is set.
    pub utc_time: String,
}

/// `CK_SESSION_INFO`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session's slot.
    pub slot_id: CK_SLOT_ID,
    /// `CKS_*`.
    pub state: CK_STATE,
    /// `CKF_RW_SESSION | CKF_SERIAL_SESSION`.
    pub flags: CK_FLAGS,
    /// Device error code.
    pub device_error: CK_ULONG,
}
