//! `bpflet:ebpf/types`: the error variant every interface returns, and how
//! kernel and libbpf failures map onto it.

use std::io;

pub use crate::bindings::types::{Error, LoadFailure, OsError};
use crate::BpfCtxView;

impl crate::bindings::types::Host for BpfCtxView<'_> {}

impl Error {
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }

    pub fn invalid_argument(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn invalid_state(msg: impl Into<String>) -> Self {
        Error::InvalidState(msg.into())
    }

    /// Classifies an errno the way a caller would branch on it; `context`
    /// says what was being done.
    pub fn from_errno(errno: i32, context: &str) -> Self {
        let errno = errno.abs();
        let message = format!("{context}: {}", io::Error::from_raw_os_error(errno));
        match errno {
            libc::ENOENT | libc::ESRCH | libc::ENODEV | libc::ENXIO => Error::NotFound(message),
            libc::EEXIST => Error::AlreadyExists(message),
            libc::EPERM | libc::EACCES => Error::PermissionDenied(message),
            libc::EINVAL | libc::E2BIG | libc::ERANGE => Error::InvalidArgument(message),
            libc::EOPNOTSUPP | libc::ENOSYS => Error::Unsupported(message),
            _ => Error::Os(OsError { errno: errno as u32, message }),
        }
    }

    /// The errno of the last failed libc call.
    pub fn last_os_error(context: &str) -> Self {
        Self::from_errno(io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO), context)
    }

    /// Classifies a libbpf-rs error, keeping its whole message.
    pub fn from_libbpf(err: &libbpf_rs::Error, context: &str) -> Self {
        use libbpf_rs::ErrorKind as K;
        let message = format!("{context}: {err:#}");
        match err.kind() {
            K::NotFound => Error::NotFound(message),
            K::AlreadyExists => Error::AlreadyExists(message),
            K::PermissionDenied => Error::PermissionDenied(message),
            K::InvalidInput | K::InvalidData => Error::InvalidArgument(message),
            K::Unsupported => Error::Unsupported(message),
            _ => Error::Os(OsError { errno: libc::EIO as u32, message }),
        }
    }
}
