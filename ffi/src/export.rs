//! The exported symbols: [`export_pkcs11!`](crate::export_pkcs11) turns a [`Backend`] into a
//! loadable PKCS#11 module.
//!
//! ```ignore
//! struct MyBackend;
//! impl p11kms_ffi::Backend for MyBackend { /* ... */ }
//! p11kms_ffi::export_pkcs11!(MyBackend);
//! ```
//!
//! The macro places the 2.40 and 3.0 function lists and the interface array
//! in immutable statics, implements [`Exported`](crate::Exported) for the backend so generic
//! code can find them, and exports `C_GetFunctionList`,
//! `C_GetInterfaceList` and `C_GetInterface` unmangled. Every other function
//! is reached through the tables, as PKCS#11 intends. Invoke it once per
//! library: the symbol names are fixed.

/// Exports a PKCS#11 module backed by the given [`Backend`] type.
///
/// Expands (inside an anonymous `const _`, so it adds no names to the
/// caller's module) to the statics `FUNCTION_LIST_2_40`, `FUNCTION_LIST_3_0`
/// and `INTERFACES`, an `impl Exported` for the type, and the unmangled
/// `C_GetFunctionList`, `C_GetInterfaceList` and `C_GetInterface`.
#[macro_export]
macro_rules! export_pkcs11 {
    ($backend:ty) => {
        const _: () = {
            static FUNCTION_LIST_2_40: $crate::sys::CK_FUNCTION_LIST = $crate::tables::function_list_2_40::<$backend>();
            static FUNCTION_LIST_3_0: $crate::sys::CK_FUNCTION_LIST_3_0 =
                $crate::tables::function_list_3_0::<$backend>();
            static INTERFACES: $crate::interface::Interfaces =
                $crate::interface::Interfaces::new(&FUNCTION_LIST_3_0, &FUNCTION_LIST_2_40);

            impl $crate::Exported for $backend {
                fn function_list_2_40() -> &'static $crate::sys::CK_FUNCTION_LIST {
                    &FUNCTION_LIST_2_40
                }
                fn function_list_3_0() -> &'static $crate::sys::CK_FUNCTION_LIST_3_0 {
                    &FUNCTION_LIST_3_0
                }
                fn interfaces() -> &'static $crate::interface::Interfaces {
                    &INTERFACES
                }
            }

            /// PKCS#11 `C_GetFunctionList`.
            ///
            /// # Safety
            /// The caller follows PKCS#11.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn C_GetFunctionList(
                function_list: $crate::sys::CK_FUNCTION_LIST_PTR_PTR,
            ) -> $crate::sys::CK_RV {
                // SAFETY: the caller's contract is the generic getter's.
                unsafe { $crate::interface::C_GetFunctionList::<$backend>(function_list) }
            }

            /// PKCS#11 `C_GetInterfaceList`.
            ///
            /// # Safety
            /// The caller follows PKCS#11.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn C_GetInterfaceList(
                interfaces: $crate::sys::CK_INTERFACE_PTR,
                count: $crate::sys::CK_ULONG_PTR,
            ) -> $crate::sys::CK_RV {
                // SAFETY: the caller's contract is the generic getter's.
                unsafe { $crate::interface::C_GetInterfaceList::<$backend>(interfaces, count) }
            }

            /// PKCS#11 `C_GetInterface`.
            ///
            /// # Safety
            /// The caller follows PKCS#11.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn C_GetInterface(
                name: $crate::sys::CK_UTF8CHAR_PTR,
                version: $crate::sys::CK_VERSION_PTR,
                interface: $crate::sys::CK_INTERFACE_PTR_PTR,
                flags: $crate::sys::CK_FLAGS,
            ) -> $crate::sys::CK_RV {
                // SAFETY: the caller's contract is the generic getter's.
                unsafe { $crate::interface::C_GetInterface::<$backend>(name, version, interface, flags) }
            }
        };
    };
}
