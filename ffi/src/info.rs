//! The information structures: [`Info`], [`SlotInfo`], [`TokenInfo`] and
//! [`SessionInfo`] encoded into their fixed-size C shapes.
//!
//! PKCS#11 text fields are not NUL-terminated: they are padded with blanks
//! to their full width. Text that is too long is cut at a UTF-8 character
//! boundary, so the caller never sees half a character.

use cryptoki_sys::{CK_INFO, CK_SESSION_INFO, CK_SLOT_INFO, CK_TOKEN_INFO, CK_VERSION};

use crate::types::{Info, SessionInfo, SlotInfo, TokenInfo};

/// `text` blank-padded (or cut) to exactly `N` bytes.
pub(crate) fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut field = [b' '; N];
    field[..end].copy_from_slice(&text.as_bytes()[..end]);
    field
}

/// A `(major, minor)` pair as `CK_VERSION`.
pub(crate) const fn version((major, minor): (u8, u8)) -> CK_VERSION {
    CK_VERSION { major, minor }
}

/// `CK_INFO`, with the cryptoki version of the table the caller came through.
pub(crate) fn encode_info(info: &Info, cryptoki: CK_VERSION) -> CK_INFO {
    CK_INFO {
        cryptokiVersion: cryptoki,
        manufacturerID: padded(&info.manufacturer),
        // Reserved: must be zero.
        flags: 0,
        libraryDescription: padded(&info.description),
        libraryVersion: version(info.library_version),
    }
}

/// `CK_SLOT_INFO`.
pub(crate) fn encode_slot_info(info: &SlotInfo) -> CK_SLOT_INFO {
    CK_SLOT_INFO {
        slotDescription: padded(&info.description),
        manufacturerID: padded(&info.manufacturer),
        flags: info.flags,
        hardwareVersion: version(info.hardware_version),
        firmwareVersion: version(info.firmware_version),
    }
}

/// `CK_TOKEN_INFO`.
pub(crate) fn encode_token_info(info: &TokenInfo) -> CK_TOKEN_INFO {
    CK_TOKEN_INFO {
        label: padded(&info.label),
        manufacturerID: padded(&info.manufacturer),
        model: padded(&info.model),
        serialNumber: padded(&info.serial),
        flags: info.flags,
        ulMaxSessionCount: info.max_session_count,
        ulSessionCount: info.session_count,
        ulMaxRwSessionCount: info.max_rw_session_count,
        ulRwSessionCount: info.rw_session_count,
        ulMaxPinLen: info.max_pin_len,
        ulMinPinLen: info.min_pin_len,
        ulTotalPublicMemory: info.total_public_memory,
        ulFreePublicMemory: info.free_public_memory,
        ulTotalPrivateMemory: info.total_private_memory,
        ulFreePrivateMemory: info.free_private_memory,
        hardwareVersion: version(info.hardware_version),
        firmwareVersion: version(info.firmware_version),
        utcTime: padded(&info.utc_time),
    }
}

/// `CK_SESSION_INFO`.
pub(crate) fn encode_session_info(info: &SessionInfo) -> CK_SESSION_INFO {
    CK_SESSION_INFO { slotID: info.slot_id, state: info.state, flags: info.flags, ulDeviceError: info.device_error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_blank_padded() {
        assert_eq!(&padded::<8>("abc"), b"abc     ");
        assert_eq!(&padded::<4>(""), b"    ");
        assert_eq!(&padded::<4>("abcdef"), b"abcd");
    }

    #[test]
    fn long_strings_are_cut_at_a_char_boundary() {
        // "é" is two bytes: cutting after 4 bytes would split it.
        assert_eq!(&padded::<4>("abcé"), b"abc ");
        assert!(std::str::from_utf8(&padded::<4>("abcé")).is_ok());
        assert_eq!(&padded::<5>("abcé"), "abcé".as_bytes());
    }

    #[test]
    fn token_info_fields_land_in_place() {
        let info = TokenInfo {
            label: "instance".into(),
            serial: "0123456789abcdef-too-long".into(),
            max_pin_len: 64,
            hardware_version: (1, 2),
            ..TokenInfo::default()
        };
        let c = encode_token_info(&info);
        assert_eq!(&c.label[..9], b"instance ");
        assert_eq!(c.label[31], b' ');
        assert_eq!(&c.serialNumber, b"0123456789abcdef");
        assert_eq!(c.model, [b' '; 16]);
        assert_eq!(c.ulMaxPinLen, 64);
        assert_eq!((c.hardwareVersion.major, c.hardwareVersion.minor), (1, 2));
        assert_eq!(c.utcTime, [b' '; 16]);
    }
}
