//! libp11kms.so: the PKCS#11 module of p11kms (being written).
