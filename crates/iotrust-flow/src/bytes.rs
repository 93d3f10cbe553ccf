//! Bounds-checked reads from byte slices: every accessor returns `None` past the end, so no
//! decoder indexes a slice directly.

#[inline]
pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

#[inline]
pub(crate) fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

#[inline]
pub(crate) fn be_u16(b: &[u8], off: usize) -> Option<u16> {
    array_at(b, off).map(u16::from_be_bytes)
}

#[inline]
pub(crate) fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    array_at(b, off).map(u32::from_be_bytes)
}

/// Byte order of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    #[inline]
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    #[inline]
    pub(crate) fn u16_at(self, b: &[u8], off: usize) -> Option<u16> {
        array_at(b, off).map(|a| self.u16(a))
    }

    #[inline]
    pub(crate) fn u32_at(self, b: &[u8], off: usize) -> Option<u32> {
        array_at(b, off).map(|a| self.u32(a))
    }
}

/// Reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX reduced-size encoding);
/// `None` for other lengths.
#[inline]
pub(crate) fn be_uint(b: &[u8]) -> Option<u64> {
    match b.len() {
        // the common widths in one load each
        1 => b.first().map(|x| u64::from(*x)),
        2 => array_at(b, 0).map(|a| u64::from(u16::from_be_bytes(a))),
        4 => array_at(b, 0).map(|a| u64::from(u32::from_be_bytes(a))),
        8 => array_at(b, 0).map(u64::from_be_bytes),
        3 | 5..=7 => Some(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x))),
        _ => None,
    }
}

/// A forward-only cursor over a slice.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn be_u16(&mut self) -> Option<u16> {
        let v = be_u16(self.buf, self.pos)?;
        self.pos += 2;
        Some(v)
    }

    pub(crate) fn be_u32(&mut self) -> Option<u32> {
        let v = be_u32(self.buf, self.pos)?;
        self.pos += 4;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let b = [1u8, 2, 3];
        assert_eq!(be_u16(&b, 1), Some(0x0203));
        assert_eq!(be_u16(&b, 2), None);
        assert_eq!(be_u32(&b, usize::MAX), None);
        assert_eq!(be_uint(&b), Some(0x010203));
        assert_eq!(be_uint(&[]), None);
        let mut c = Cursor::new(&b);
        assert_eq!(c.be_u16(), Some(0x0102));
        assert_eq!(c.be_u16(), None);
        assert_eq!(c.remaining(), 1);
        assert_eq!(Endian::Little.u32_at(&[1, 0, 0, 0], 0), Some(1));
    }
}
