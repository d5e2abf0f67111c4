//! Rows of the key material the daemon holds itself (the `default`
//! instance's, `kms::vault::software`): every value sealed under the root
//! key as `material <role> <id>`, so neither the database nor the journal
//! ever holds it in clear, and a sealed value moved to another row does
//! not open. The journal records that material came or went, never the
//! material.

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::{Store, StoreError, Tx};

/// What a row of material is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaterialRole {
    /// A key version's material.
    Version,
    /// An import token's RSA private key.
    Wrapping,
}

impl MaterialRole {
    fn as_str(self) -> &'static str {
        match self {
            Self::Version => "version",
            Self::Wrapping => "wrapping",
        }
    }
}

fn purpose(role: MaterialRole, id: &[u8; 16]) -> Vec<u8> {
    format!("material {} {}", role.as_str(), hex::encode(id)).into_bytes()
}

/// The journal's payload for a row: what and when, never the material.
#[derive(serde::Serialize)]
struct Journaled<'a> {
    role: &'a str,
}

impl Tx<'_> {
    /// Seals and stores material `plaintext` of `role` for `id` (replacing
    /// any left by a creation that never committed).
    pub fn put_material(&self, role: MaterialRole, id: &[u8; 16], plaintext: &[u8]) -> Result<(), StoreError> {
        let sealed = self.root_key.seal(&purpose(role, id), plaintext)?;
        self.tx.execute(
            "INSERT OR REPLACE INTO software_material (id, role, sealed, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id.as_slice(), role.as_str(), sealed, self.now.unix()],
        )?;
        self.journal("software_material", &hex::encode(id), "create", &Journaled { role: role.as_str() })
    }

    /// Deletes the material of `role` for `id`; true when there was some.
    pub fn delete_material(&self, role: MaterialRole, id: &[u8; 16]) -> Result<bool, StoreError> {
        let deleted = self.tx.execute(
            "DELETE FROM software_material WHERE id = ?1 AND role = ?2",
            params![id.as_slice(), role.as_str()],
        )?;
        if deleted > 0 {
            self.journal("software_material", &hex::encode(id), "delete", &Journaled { role: role.as_str() })?;
        }
        Ok(deleted > 0)
    }
}

impl Store {
    /// The material of `role` for `id`, opened; `None` when there is none.
    pub fn material(&self, role: MaterialRole, id: &[u8; 16]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let sealed: Option<Vec<u8>> = {
            let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
            conn.query_row(
                "SELECT sealed FROM software_material WHERE id = ?1 AND role = ?2",
                params![id.as_slice(), role.as_str()],
                |r| r.get(0),
            )
            .optional()?
        };
        sealed.map(|s| self.root_key.open(&purpose(role, id), &s).map_err(StoreError::from)).transpose()
    }

    /// The ids of every key version whose material the daemon holds.
    pub fn material_ids(&self, role: MaterialRole) -> Result<Vec<[u8; 16]>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut stmt = conn.prepare("SELECT id FROM software_material WHERE role = ?1 ORDER BY created_at")?;
        let rows = stmt.query_map([role.as_str()], |r| r.get::<_, Vec<u8>>(0))?;
        let mut ids = Vec::new();
        for row in rows {
            let id = row?;
            ids.push(
                id.as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt { column: "software_material.id", value: hex::encode(&id) })?,
            );
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use p11kms_proto::Timestamp;

    use super::*;

    #[test]
    fn material_is_sealed_and_opens_only_in_its_row() {
        let store = Store::open_in_memory().expect("store");
        let id = [7u8; 16];
        store.write(Timestamp(1), |tx| tx.put_material(MaterialRole::Version, &id, b"sixteen byte key")).expect("put");
        assert_eq!(
            store.material(MaterialRole::Version, &id).expect("read").as_deref().map(|v| &v[..]),
            Some(&b"sixteen byte key"[..])
        );
        assert_eq!(store.material(MaterialRole::Wrapping, &id).expect("read"), None, "another role");
        assert_eq!(store.material_ids(MaterialRole::Version).expect("ids"), vec![id]);
        let dump = store.dump().expect("dump");
        assert!(!dump.contains("sixteen byte key"), "never in clear in any table, the journal included");
        assert!(dump.contains("software_material"), "the journal says material came");
        // A row copied under another id does not open.
        {
            let conn = store.conn.lock().expect("lock");
            conn.execute("UPDATE software_material SET id = ?1", [[8u8; 16].as_slice()]).expect("moved");
        }
        assert!(store.material(MaterialRole::Version, &[8u8; 16]).is_err(), "moved rows do not open");
        let gone =
            store.write(Timestamp(2), |tx| tx.delete_material(MaterialRole::Version, &[8u8; 16])).expect("delete");
        assert!(gone);
        assert!(store.material_ids(MaterialRole::Version).expect("ids").is_empty());
    }
}
