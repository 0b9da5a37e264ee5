//! What the kernel-only runner and the built-in render plug-in share:
//! reading an object's BTF ([`btf`]) and decoding bytes by their types
//! into values that print as table cells or JSON ([`value`]). Pure: it
//! works on the list `bpf-object.btf-types` returns and on bytes.

pub mod btf;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod value;

pub use btf::Types;
pub use value::Value;

/// `HH:MM:SS` of a Unix time, in UTC (WASI has no time zone).
pub fn clock(unix_secs: u64) -> String {
    let day = unix_secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_hh_mm_ss() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(86_400 * 365 + 3600 * 13 + 60 * 5 + 9), "13:05:09");
    }
}
