//! A QR matrix as SVG (one path of unit squares) or PNG (1-bit greyscale; the image data in
//! stored, i.e. uncompressed, deflate blocks: a ticket's PNG is ~20 KB that way, and the function
//! links no compressor). Both carry the 4-module quiet zone scanners need.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light border on every side (the QR standard's quiet zone).
const QUIET: usize = 4;
/// PNG pixels per module: enough for phone cameras and decoders alike.
const PNG_SCALE: usize = 4;

pub struct Qr {
    width: usize,
    dark: Vec<bool>,
}

impl Qr {
    /// Error correction M: survives ~15 % damage (a scuffed print, a cracked screen).
    pub fn encode(data: &str) -> Result<Qr, qrcode::types::QrError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)?;
        Ok(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    pub fn svg(&self) -> String {
        let size = self.width + 2 * QUIET;
        let mut path = String::with_capacity(self.dark.len() * 6);
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET, y + QUIET));
                }
            }
        }
        format!(
            r##"<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{px}" height="{px}" viewBox="0 0 {size} {size}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##,
            px = size * 8,
        )
    }

    pub fn png(&self) -> Vec<u8> {
        let side = (self.width + 2 * QUIET) * PNG_SCALE;
        let row_bytes = side.div_ceil(8);
        // Scanlines: filter byte 0 (none), then 1 bit a pixel, 1 = white.
        let mut raw = Vec::with_capacity((row_bytes + 1) * side);
        for py in 0..side {
            raw.push(0);
            let mut line = vec![0u8; row_bytes];
            for px in 0..side {
                let (mx, my) = (px / PNG_SCALE, py / PNG_SCALE);
                let inside = (QUIET..QUIET + self.width).contains(&mx)
                    && (QUIET..QUIET + self.width).contains(&my);
                let dark = inside && self.is_dark(mx - QUIET, my - QUIET);
                if !dark {
                    line[px / 8] |= 0x80 >> (px % 8);
                }
            }
            raw.extend_from_slice(&line);
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(side as u32).to_be_bytes());
        ihdr.extend_from_slice(&(side as u32).to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]); // bit depth 1, greyscale, deflate, no filter, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &zlib_stored(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (RFC 1950/1951): valid for every decoder, no
/// compressor needed.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none())); // BFINAL on the last, BTYPE 00
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}
