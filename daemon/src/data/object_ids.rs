//! The data plane's object id space, shared by every kind of object so
//! that no id names two things: key versions' objects
//! (`data::objects`: `seq << 2 | role`, role 1 to 3), objects applications
//! created (`data::created`: `number << 3`, or session ids ending in 4),
//! and secrets (`data::secret_objects`: the top bit).

use p11kms_proto::pkcs11::ObjectId;

/// The bit that marks a secret's object id; no other id has it.
pub const SECRET_BIT: ObjectId = 1 << 63;
