//! Shared code of the fuzz targets: a byte reader that turns fuzzer input into
//! choices (and the writer the seed generator uses to make inputs), and the
//! core harness, a three-node cluster on a fuzz-controlled network.

pub mod core_harness;

/// Reads choices out of fuzzer input. Past the end every read yields zero, so
/// any input is valid and short inputs stay meaningful.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u64_raw(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    /// A number, usually small (one byte below [`NUM_ESCAPE`] is its own
    /// value) so that fields collide with the node's counters; the escapes
    /// reach the edges of the type.
    pub fn num(&mut self) -> u64 {
        match self.u8() {
            b if b < NUM_ESCAPE => u64::from(b),
            0xF0 => u64::MAX,
            0xF1 => u64::MAX - 1,
            0xF2 => u64::from(u32::MAX),
            0xF3 => u64::from(u32::MAX) + 1,
            0xF4 => u64::from(u16::MAX),
            0xF5 => 1 << 63,
            _ => self.u64_raw(),
        }
    }

    pub fn num32(&mut self) -> u32 {
        u32::try_from(self.num()).unwrap_or(u32::MAX)
    }

    /// Up to `max` bytes, length first (one byte, or two for long ones).
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let mut len = usize::from(self.u8());
        if len == 0xFF {
            len = usize::from(self.u16());
        }
        let len = len.min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// First byte value of [`Reader::num`] that is not a literal.
pub const NUM_ESCAPE: u8 = 0xF0;

/// Builds inputs that [`Reader`] reads back as intended (for seeds).
#[derive(Default)]
pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.u8(u8::from(b))
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn num(&mut self, v: u64) -> &mut Self {
        if v < u64::from(NUM_ESCAPE) {
            self.u8(v as u8)
        } else {
            self.u8(0xFF);
            self.out.extend_from_slice(&v.to_le_bytes());
            self
        }
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        if b.len() < 0xFF {
            self.u8(b.len() as u8);
        } else {
            self.u8(0xFF);
            self.u16(u16::try_from(b.len()).expect("seed bytes fit a u16 length"));
        }
        self.out.extend_from_slice(b);
        self
    }
}
