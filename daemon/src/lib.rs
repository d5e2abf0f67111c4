//! p11kmsd (being written).
