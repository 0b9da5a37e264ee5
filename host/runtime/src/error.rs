//! The WIT `error` every bpflet interface returns, and the one error type
//! host functions fail with.
//!
//! A host function returns [`HostResult`]: its [`HostError`] is either the
//! WIT [`Error`] the guest gets back, or a trap (a resource the guest does
//! not own, a broken invariant of the host). `?` converts whatever a host
//! function calls into it: kernel errnos, libbpf-rs errors and resource
//! table errors, as wasmtime's `p2/filesystem.rs` does with
//! `trappable_error_type`.

use std::fmt::Display;
use std::io;

use wasmtime::component::ResourceTableError;

pub use crate::bindings::types::{Error, LoadFailure, OsError};
use crate::BpfCtxView;

/// Why a host function of a bpflet interface failed.
#[derive(Debug)]
pub enum HostError {
    /// A failure the guest is told about, as the WIT `error`.
    Wit(Error),
    /// A failure that traps the guest.
    Trap(wasmtime::Error),
}

/// The result of a host function of a bpflet interface.
pub type HostResult<T> = Result<T, HostError>;

/// What a hand-linked host function returns for a WIT function whose
/// result is `result<R, error>`: that result, or a trap.
pub(crate) type Returns<R> = wasmtime::Result<(Result<R, Error>,)>;

impl HostError {
    /// Splits into the guest's `result<T, error>`, or a trap.
    pub(crate) fn split<T>(result: HostResult<T>) -> wasmtime::Result<Result<T, Error>> {
        match result {
            Ok(value) => Ok(Ok(value)),
            Err(HostError::Wit(error)) => Ok(Err(error)),
            Err(HostError::Trap(trap)) => Err(trap),
        }
    }

    /// What a hand-linked host function returns (see [`Returns`]).
    pub(crate) fn returns<R>(result: HostResult<R>) -> Returns<R> {
        Self::split(result).map(|r| (r,))
    }
}

impl From<Error> for HostError {
    fn from(error: Error) -> Self {
        HostError::Wit(error)
    }
}

impl From<ResourceTableError> for HostError {
    fn from(error: ResourceTableError) -> Self {
        HostError::Trap(match error {
            ResourceTableError::Full => wasmtime::format_err!(
                "the guest holds as many handles as this run allows (bpflet run --limit handles=...)"
            ),
            other => other.into(),
        })
    }
}

impl From<io::Error> for HostError {
    fn from(error: io::Error) -> Self {
        HostError::Wit(error.into())
    }
}

impl From<libbpf_rs::Error> for HostError {
    fn from(error: libbpf_rs::Error) -> Self {
        HostError::Wit(error.into())
    }
}

impl crate::bindings::types::Host for BpfCtxView<'_> {
    fn convert_error(&mut self, error: HostError) -> wasmtime::Result<Error> {
        match error {
            HostError::Wit(error) => Ok(error),
            HostError::Trap(trap) => Err(trap),
        }
    }
}

/// The message of any case of `$error`, borrowed as `$error` is.
macro_rules! message_of {
    ($error:expr $(, $mut:tt)?) => {
        match $error {
            Error::NotFound(m)
            | Error::InvalidArgument(m)
            | Error::AlreadyExists(m)
            | Error::PermissionDenied(m)
            | Error::Unsupported(m)
            | Error::InvalidState(m) => m,
            Error::LoadFailed(failure) => &$($mut)? failure.message,
            Error::Os(os) => &$($mut)? os.message,
        }
    };
}

impl Error {
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Error::InvalidState(message.into())
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Error::PermissionDenied(message.into())
    }

    /// The message, whatever the case.
    pub fn message(&self) -> &str {
        message_of!(self)
    }

    fn message_mut(&mut self) -> &mut String {
        message_of!(self, mut)
    }

    /// Says what was being done: `what: message`, keeping the case.
    #[must_use]
    pub fn context(mut self, what: impl Display) -> Self {
        let message = self.message_mut();
        *message = if message.is_empty() { what.to_string() } else { format!("{what}: {message}") };
        self
    }

    /// Adds lines (a log's tail, a hint) below the message.
    #[must_use]
    pub fn with_detail(mut self, detail: &str) -> Self {
        if !detail.is_empty() {
            let message = self.message_mut();
            message.push('\n');
            message.push_str(detail);
        }
        self
    }
}

/// An errno, classified: the cases callers branch on, `os` for the rest.
impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        let Some(errno) = error.raw_os_error() else {
            // bpflet's own checks before a call (`sys`): no errno, a reason.
            let message = error.to_string();
            return match error.kind() {
                io::ErrorKind::InvalidInput => Error::InvalidArgument(message),
                _ => Error::Os(OsError { errno: libc::EIO.unsigned_abs(), message }),
            };
        };
        let message = io::Error::from_raw_os_error(errno).to_string();
        match errno {
            libc::ENOENT | libc::ESRCH | libc::ENODEV | libc::ENXIO => Error::NotFound(message),
            libc::EEXIST => Error::AlreadyExists(message),
            libc::EPERM | libc::EACCES => Error::PermissionDenied(message),
            libc::EINVAL | libc::E2BIG | libc::ERANGE => Error::InvalidArgument(message),
            libc::EOPNOTSUPP | libc::ENOSYS => Error::Unsupported(message),
            _ => Error::Os(OsError { errno: errno.unsigned_abs(), message }),
        }
    }
}

/// A libbpf-rs error, classified by the errno at its root (by its kind
/// when it has none), keeping its whole message.
impl From<libbpf_rs::Error> for Error {
    fn from(error: libbpf_rs::Error) -> Self {
        use libbpf_rs::ErrorKind as K;
        let message = format!("{error:#}");
        if let Some(errno) = errno_of(&message) {
            let mut classified = Error::from(io::Error::from_raw_os_error(errno));
            *classified.message_mut() = message;
            return classified;
        }
        match error.kind() {
            K::NotFound => Error::NotFound(message),
            K::AlreadyExists => Error::AlreadyExists(message),
            K::PermissionDenied => Error::PermissionDenied(message),
            K::InvalidInput | K::InvalidData => Error::InvalidArgument(message),
            K::Unsupported => Error::Unsupported(message),
            _ => Error::Os(OsError { errno: libc::EIO.unsigned_abs(), message }),
        }
    }
}

/// The errno of a libbpf-rs error's message. libbpf-rs keeps the
/// `io::Error` at the root of its chain private, but prints it, as std
/// prints every OS error: "... (os error N)". The test below notices if
/// that ever changes.
fn errno_of(message: &str) -> Option<i32> {
    let rest = &message[message.rfind("(os error ")? + "(os error ".len()..];
    rest[..rest.find(')')?].parse().ok()
}

/// `context` on results whose error becomes the WIT [`Error`].
pub trait Context<T> {
    /// Says what was being done when it failed.
    fn context(self, what: impl Display) -> Result<T, Error>;
    /// As `context`, with the description built only on failure (hot paths).
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T, Error>;
}

impl<T, E: Into<Error>> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T, Error> {
        self.map_err(|e| e.into().context(what))
    }

    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T, Error> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_errno(errno: i32, context: &str) -> Error {
        Error::from(io::Error::from_raw_os_error(errno.abs())).context(context)
    }

    #[test]
    fn errors_without_errno_keep_their_reason() {
        let error = Error::from(io::Error::new(io::ErrorKind::InvalidInput, "CPU number out of range"));
        assert!(matches!(&error, Error::InvalidArgument(m) if m == "CPU number out of range"), "{error:?}");
    }

    #[test]
    fn errnos_map_to_the_cases_callers_branch_on() {
        assert!(matches!(from_errno(libc::ENOENT, "x"), Error::NotFound(_)));
        assert!(matches!(from_errno(-libc::EEXIST, "x"), Error::AlreadyExists(_)));
        assert!(matches!(from_errno(libc::EPERM, "x"), Error::PermissionDenied(_)));
        assert!(matches!(from_errno(libc::E2BIG, "x"), Error::InvalidArgument(_)));
        assert!(matches!(from_errno(libc::EOPNOTSUPP, "x"), Error::Unsupported(_)));
        let Error::Os(os) = from_errno(libc::EBUSY, "opening") else { panic!("EBUSY is os") };
        assert_eq!(os.errno, libc::EBUSY as u32);
        assert!(os.message.starts_with("opening: "), "{}", os.message);
    }

    #[test]
    fn libbpf_errors_keep_their_errno() {
        let error: Result<(), _> = Err(libbpf_rs::Error::from_raw_os_error(libc::EOPNOTSUPP));
        let error = Error::from(libbpf_rs::ErrorExt::context(error, "failed to attach BPF program").unwrap_err());
        assert!(
            matches!(&error, Error::Unsupported(m) if m.starts_with("failed to attach BPF program: ")),
            "{error:?}"
        );
        let Error::Os(os) = Error::from(libbpf_rs::Error::from_raw_os_error(libc::EBADF)) else { panic!() };
        assert_eq!(os.errno, libc::EBADF as u32);
    }

    #[test]
    fn context_and_detail_keep_the_case() {
        let error = Error::not_found("no such map").context("lookup").with_detail("hint");
        assert!(matches!(&error, Error::NotFound(m) if m == "lookup: no such map\nhint"));
        assert_eq!(Error::invalid_argument("").context("only this").message(), "only this");
    }

    #[test]
    fn traps_stay_traps() {
        let trap = HostError::from(ResourceTableError::NotPresent);
        assert!(HostError::split::<()>(Err(trap)).is_err());
        let wit = HostError::from(Error::invalid_state("x"));
        assert!(matches!(HostError::split::<()>(Err(wit)), Ok(Err(Error::InvalidState(_)))));
    }
}
