//! The WIT `error` variant as a Rust error.
//!
//! wit-bindgen would generate this enum itself, but with a `Display` that
//! prints the `Debug` form. The bindings are told (`with`) to use this copy
//! instead, so every raw binding and every SDK call returns one error type
//! that prints as `case: message`. A case added to the WIT fails to compile
//! here rather than going unnoticed.

use core::fmt;

use crate::bindings::bpflet::ebpf::types::{LoadFailure, OsError};

/// Why a kernel operation failed. Every case carries a human-readable
/// message; callers branch on the case, people read the message.
#[derive(Clone, Debug)]
pub enum Error {
    /// No program, map, global or attach target of that name exists.
    NotFound(String),
    /// An argument has the wrong size, shape or value (for example a key
    /// whose length differs from the map's key size).
    InvalidArgument(String),
    /// The element already exists (update with `no-exist`).
    AlreadyExists(String),
    /// The operation is not allowed: by bpflet's policy or by the kernel.
    PermissionDenied(String),
    /// The kernel or this build of bpflet does not offer the feature.
    Unsupported(String),
    /// The operation does not fit the object's state (for example setting
    /// a global after load, or attaching before load).
    InvalidState(String),
    /// The kernel refused to load a program: the verifier's verdict.
    LoadFailed(LoadFailure),
    /// Any other system error.
    Os(OsError),
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// The case's name as the WIT spells it (`not-found`, `load-failed`, ...),
    /// for logs and tests that must not depend on Rust naming.
    pub fn case(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not-found",
            Error::InvalidArgument(_) => "invalid-argument",
            Error::AlreadyExists(_) => "already-exists",
            Error::PermissionDenied(_) => "permission-denied",
            Error::Unsupported(_) => "unsupported",
            Error::InvalidState(_) => "invalid-state",
            Error::LoadFailed(_) => "load-failed",
            Error::Os(_) => "os",
        }
    }

    /// The human-readable message, whatever the case.
    pub fn message(&self) -> &str {
        match self {
            Error::NotFound(m)
            | Error::InvalidArgument(m)
            | Error::AlreadyExists(m)
            | Error::PermissionDenied(m)
            | Error::Unsupported(m)
            | Error::InvalidState(m) => m,
            Error::LoadFailed(failure) => &failure.message,
            Error::Os(os) => &os.message,
        }
    }

    /// Shorthand for the error the SDK reports when a typed wrapper does not
    /// fit what the host returned or what the map is.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Os(os) => write!(f, "os error {}: {}", os.errno, os.message),
            // The log tail is why the program was rejected: print it, on its
            // own lines, rather than make every caller dig it out.
            Error::LoadFailed(failure) if !failure.verifier_log.trim().is_empty() => {
                write!(f, "load-failed: {}\nverifier log:\n{}", failure.message, failure.verifier_log.trim_end())
            }
            other => write!(f, "{}: {}", other.case(), other.message()),
        }
    }
}

impl std::error::Error for Error {}
