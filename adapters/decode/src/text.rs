//! Appending numbers and ASCII to a `String`, fast in wasm, where this
//! code runs (the runner and the render plug-in print every record with
//! it).
//!
//! Two costs dominate there and both are avoided: a push that keeps the
//! string's length in memory (`String::push` reloads and stores it at
//! every byte), and copies of a few bytes (a `memcpy` of unknown length
//! becomes `memory.copy`, which wasmtime serves by a call into the host).
//! So text is written through a [`Cursor`] over capacity reserved ahead,
//! byte by byte, and numbers are written digit by digit where they end up.

use std::mem::MaybeUninit;

/// Bytes appended to a string, into capacity reserved for them
/// ([`append`]). Every byte written is ASCII, or part of a whole `str`
/// copied in, so the string stays UTF-8. Writing past the reservation
/// panics.
pub struct Cursor<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    len: usize,
}

/// Runs `write` on a cursor over `max` bytes reserved at the end of
/// `out`, and keeps what it wrote.
pub fn append(out: &mut String, max: usize, write: impl FnOnce(&mut Cursor<'_>)) {
    out.reserve(max);
    // SAFETY: the string is UTF-8 again when the borrow ends: its length
    // grows only by what the cursor wrote, ASCII bytes and whole strs.
    let bytes = unsafe { out.as_mut_vec() };
    let start = bytes.len();
    let mut cursor = Cursor { buf: &mut bytes.spare_capacity_mut()[..max], len: 0 };
    write(&mut cursor);
    let written = cursor.len;
    // SAFETY: the cursor initialized the first `written` bytes of the
    // spare capacity (it counts only what it wrote, within `max`).
    unsafe { bytes.set_len(start + written) };
}

impl Cursor<'_> {
    /// Appends one ASCII byte; panics on any other.
    #[inline]
    pub fn byte(&mut self, b: u8) {
        assert!(b.is_ascii(), "text cursor: byte {b:#x} is not ASCII");
        self.put(b);
    }

    #[inline]
    fn put(&mut self, b: u8) {
        self.buf[self.len].write(b);
        self.len += 1;
    }

    /// Appends `s` whole (so the text stays UTF-8): the room for all of it
    /// is claimed first, so a string never ends up half written.
    pub fn str(&mut self, s: &str) {
        let room = &mut self.buf[self.len..self.len + s.len()];
        // Eight bytes a store, then the rest one by one.
        let mut chunks = room.chunks_exact_mut(8);
        let mut bytes = s.as_bytes().chunks_exact(8);
        for (to, from) in (&mut chunks).zip(&mut bytes) {
            for (slot, &b) in to.iter_mut().zip(from) {
                slot.write(b);
            }
        }
        for (slot, &b) in chunks.into_remainder().iter_mut().zip(bytes.remainder()) {
            slot.write(b);
        }
        self.len += s.len();
    }

    pub fn spaces(&mut self, n: usize) {
        for _ in 0..n {
            self.put(b' ');
        }
    }

    /// Appends `n` in decimal.
    ///
    /// In 32 bits when it fits: wasm has no 64-bit multiply-high, so a
    /// 64-bit division by 10 is a real division, many times slower.
    pub fn u64(&mut self, n: u64) {
        let end = self.len + decimal_len(n);
        // Claims the digits' bytes first (the check panics past the
        // reservation), then fills them from the last.
        let slots = &mut self.buf[self.len..end];
        let mut at = slots.len();
        let mut low = match u32::try_from(n) {
            Ok(n) => n,
            Err(_) => {
                // The low 9 digits of a larger number, then the rest.
                let (mut high, mut low) = (n / 1_000_000_000, (n % 1_000_000_000) as u32);
                for _ in 0..9 {
                    at -= 1;
                    slots[at].write(b'0' + (low % 10) as u8);
                    low /= 10;
                }
                while high > u64::from(u32::MAX) {
                    at -= 1;
                    slots[at].write(b'0' + (high % 10) as u8);
                    high /= 10;
                }
                high as u32
            }
        };
        while at > 0 {
            at -= 1;
            slots[at].write(b'0' + (low % 10) as u8);
            low /= 10;
        }
        self.len = end;
    }

    /// Appends `n` in decimal.
    pub fn i64(&mut self, n: i64) {
        if n < 0 {
            self.put(b'-');
        }
        self.u64(n.unsigned_abs());
    }

    /// Appends bytes as two lowercase hex digits each.
    pub fn hex(&mut self, bytes: &[u8]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for &b in bytes {
            self.put(DIGITS[usize::from(b >> 4)]);
            self.put(DIGITS[usize::from(b & 15)]);
        }
    }
}

/// How many digits `n` has in decimal.
pub fn decimal_len(n: u64) -> usize {
    // From the bit length (log10(2) ~ 1233/4096), corrected by one
    // comparison.
    let bits = 64 - (n | 1).leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    guess + usize::from((n | 1) >= POWERS_OF_10[guess])
}

/// 10^0 to 10^19 (the largest that fits).
const POWERS_OF_10: [u64; 20] = {
    let mut table = [0u64; 20];
    let mut i = 0;
    let mut power = 1u64;
    while i < 20 {
        table[i] = power;
        power = power.wrapping_mul(10); // past the table after 10^19
        i += 1;
    }
    table
};

/// Most bytes [`Cursor::u64_in`] and [`Cursor::i64_in`] write besides
/// their padding.
pub const MAX_INT: usize = 20;

/// `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    append(out, MAX_INT, |c| c.u64(n));
}

/// `n` in decimal.
pub fn push_i64(out: &mut String, n: i64) {
    append(out, MAX_INT, |c| c.i64(n));
}

/// Bytes in hex, two lowercase digits each.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    append(out, 2 * bytes.len(), |c| c.hex(bytes));
}

/// The first `count` bytes of `bytes` in decimal as a list, `[1,2,3]`;
/// the ones past the end of `bytes` print as `-`.
pub fn push_u8_list(out: &mut String, bytes: &[u8], count: usize) {
    let present = bytes.len().min(count);
    // Four bytes stored a byte present (its digits and a comma, padded),
    // two ("-,") one missing, and the brackets.
    let room = present.saturating_mul(4).saturating_add((count - present).saturating_mul(2)).saturating_add(2);
    append(out, room, |c| {
        c.put(b'[');
        // Four bytes a round (one check of the room for all four).
        let quads = bytes[..present].chunks_exact(4);
        let rest = quads.remainder();
        for quad in quads {
            let room = &mut c.buf[c.len..c.len + 16];
            let mut at = 0;
            for &b in quad {
                at += put_u8_comma(&mut room[at..at + 4], b);
            }
            c.len += at;
        }
        for &b in rest {
            c.len += put_u8_comma(&mut c.buf[c.len..c.len + 4], b);
        }
        for _ in present..count {
            c.put(b'-');
            c.put(b',');
        }
        // The last comma becomes the closing bracket.
        if count > 0 {
            c.len -= 1;
        }
        c.put(b']');
    });
}

/// Stores `b`'s digits and a comma in `room`, padded to its 4 bytes, and
/// returns how many count.
#[inline]
fn put_u8_comma(room: &mut [MaybeUninit<u8>], b: u8) -> usize {
    let entry = U8_COMMA[usize::from(b)];
    for (slot, &t) in room.iter_mut().zip(&(entry as u32).to_le_bytes()) {
        slot.write(t);
    }
    (entry >> 32) as usize
}

/// Each byte's decimal digits followed by a comma: those bytes in the low
/// 32 bits (little-endian), their number in the high ones.
const U8_COMMA: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let (hundreds, tens, ones) = ((b / 100) as u64, (b / 10 % 10) as u64, (b % 10) as u64);
        let (text, len) = if b >= 100 {
            ([b'0' as u64 + hundreds, b'0' as u64 + tens, b'0' as u64 + ones, b',' as u64], 4)
        } else if b >= 10 {
            ([b'0' as u64 + tens, b'0' as u64 + ones, b',' as u64, 0], 3)
        } else {
            ([b'0' as u64 + ones, b',' as u64, 0, 0], 2)
        };
        table[b] = text[0] | text[1] << 8 | text[2] << 16 | text[3] << 24 | (len as u64) << 32;
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_rust_prints_them() {
        let unsigned = [0, 7, 10, 99, 4_294_967_295, 4_294_967_296, 1_000_000_000, 1_000_000_007, 99_999_999_999];
        for n in unsigned.into_iter().chain([u64::MAX, u64::MAX - 1, 1 << 63, 10_000_000_000_000_000_000]) {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
        for power in 0..20 {
            let n = 10u64.pow(power);
            assert_eq!((decimal_len(n - 1), decimal_len(n)), ((power as usize).max(1), power as usize + 1));
        }
        for n in [0, -1, 1, -9, -10, i64::MIN, i64::MAX, -4_294_967_296, -1_000_000_000] {
            let mut out = String::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn byte_lists_mark_what_is_missing() {
        let mut out = String::from("x");
        push_u8_list(&mut out, &[0, 255, 10], 5);
        assert_eq!(out, "x[0,255,10,-,-]");
        out.clear();
        push_u8_list(&mut out, &[], 2);
        assert_eq!(out, "[-,-]");
        out.clear();
        push_u8_list(&mut out, &[7, 8], 0);
        assert_eq!(out, "[]");
        for len in 0..10 {
            let some: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(97).wrapping_add(3)).collect();
            out.clear();
            push_u8_list(&mut out, &some, len as usize + 1);
            let listed: Vec<String> = some.iter().map(u8::to_string).chain(["-".into()]).collect();
            assert_eq!(out, format!("[{}]", listed.join(",")));
        }
        let all: Vec<u8> = (0..=u8::MAX).collect();
        out.clear();
        push_u8_list(&mut out, &all, 256);
        let listed: Vec<String> = all.iter().map(u8::to_string).collect();
        assert_eq!(out, format!("[{}]", listed.join(",")));
    }

    #[test]
    fn text_appends_to_what_is_there() {
        let mut out = String::from("é");
        append(&mut out, 40, |c| {
            c.str("ß ");
            c.str("0123456789abcdefgh");
            c.byte(b'a');
            c.spaces(2);
            c.hex(&[0xab, 1]);
        });
        assert_eq!(out, "éß 0123456789abcdefgha  ab01");
    }

    #[test]
    #[should_panic(expected = "not ASCII")]
    fn only_ascii_bytes() {
        append(&mut String::new(), 1, |c| c.byte(0xc3));
    }

    /// Room for a whole string or none of it: a string cut at the end of
    /// the reservation (a caught panic, in native tests) leaves nothing.
    #[test]
    fn strings_go_in_whole_or_not_at_all() {
        let mut out = String::new();
        append(&mut out, 12, |c| {
            c.str("ab");
            let cut = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.str("aaaaaaaé0123456")));
            assert!(cut.is_err());
        });
        assert_eq!(out, "ab");
    }

    #[test]
    #[should_panic]
    fn not_past_the_reservation() {
        append(&mut String::new(), 2, |c| c.str("abc"));
    }
}
