//! Reading fixed-width integers out of untrusted bytes in a file's byte order.
//!
//! Every read is bounds-checked and returns `None` instead of panicking, so a
//! parser can never be pushed past the end of a record by a hostile length.

/// The byte order a pcap file or pcapng section was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
        bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    pub fn u16(self, bytes: &[u8], at: usize) -> Option<u16> {
        let raw = Self::array(bytes, at)?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(raw),
            Endian::Big => u16::from_be_bytes(raw),
        })
    }

    pub fn u32(self, bytes: &[u8], at: usize) -> Option<u32> {
        let raw = Self::array(bytes, at)?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        })
    }

    pub fn u64(self, bytes: &[u8], at: usize) -> Option<u64> {
        let raw = Self::array(bytes, at)?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(raw),
            Endian::Big => u64::from_be_bytes(raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_refuses_short_input() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(Endian::Little.u16(&b, 0), Some(0x0201));
        assert_eq!(Endian::Big.u32(&b, 1), Some(0x0203_0405));
        assert_eq!(Endian::Big.u64(&b, 1), Some(0x0203_0405_0607_0809));
        assert_eq!(Endian::Little.u32(&b, 6), None);
        assert_eq!(Endian::Little.u32(&b, usize::MAX - 1), None);
    }
}
