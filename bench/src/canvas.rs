//! A small RGB canvas for the charts: filled rectangles, lines, text in an
//! embedded 8x8 bitmap font (`font8x8`), written out as a PNG (RFC 2083 /
//! the PNG specification, 2nd edition): the signature, `IHDR` (8-bit RGB),
//! one zlib-compressed `IDAT` of filter-type-0 scanlines, `IEND`, each
//! chunk with its CRC-32.

use std::path::Path;

use crate::error::{Context, Result};

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [200, 200, 200];
pub const DARK_GREY: Rgb = [110, 110, 110];
/// Series colours, told apart also by people with the common colour
/// vision deficiencies (Okabe and Ito's palette).
pub const PALETTE: [Rgb; 6] = [
    [0, 114, 178],
    [230, 159, 0],
    [0, 158, 115],
    [204, 121, 167],
    [86, 180, 233],
    [213, 94, 0],
];

/// The glyph size at scale 1.
pub const GLYPH: usize = 8;

pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Self {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&WHITE);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    #[cfg(test)]
    pub fn pixel(&self, x: usize, y: usize) -> Option<Rgb> {
        (x < self.width && y < self.height).then(|| {
            let at = (y * self.width + x) * 3;
            [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
        })
    }

    /// Sets a pixel; points outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, color: Rgb) {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return;
        };
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 3;
            self.pixels[at..at + 3].copy_from_slice(&color);
        }
    }

    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, color);
            }
        }
    }

    /// A line (Bresenham's), `thick` pixels wide downwards.
    pub fn line(&mut self, from: (i64, i64), to: (i64, i64), color: Rgb, thick: i64) {
        let (mut x, mut y) = from;
        let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
        let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.rect(x, y, thick, thick, color);
            if (x, y) == to {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text with its top left corner at (x, y); characters outside ASCII
    /// print as `?`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, color: Rgb, scale: i64) {
        let mut cx = x;
        for c in text.chars() {
            let code = if c.is_ascii() {
                c as usize
            } else {
                '?' as usize
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    // Bit 0 is the leftmost pixel of a row.
                    if bits & (1 << col) != 0 {
                        let (px, py) = (cx + col * scale, y + row as i64 * scale);
                        self.rect(px, py, scale, scale, color);
                    }
                }
            }
            cx += GLYPH as i64 * scale;
        }
    }

    /// The width of `text` in pixels.
    pub fn text_width(text: &str, scale: i64) -> i64 {
        text.chars().count() as i64 * GLYPH as i64 * scale
    }

    /// The image as PNG bytes.
    pub fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.height * (1 + self.width * 3));
        for row in self.pixels.chunks(self.width * 3) {
            raw.push(0); // filter type 0: the scanline as is
            raw.extend_from_slice(row);
        }
        let mut header = Vec::with_capacity(13);
        header.extend_from_slice(&dimension(self.width).to_be_bytes());
        header.extend_from_slice(&dimension(self.height).to_be_bytes());
        // Bit depth 8, colour type 2 (RGB), deflate, filter method 0, no
        // interlace.
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &header);
        chunk(
            &mut out,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.png()).with_context(|| format!("writing {}", path.display()))
    }
}

/// 12345 → "12.3k", 9.87 → "9.87".
pub fn short(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.1}k", value / 1000.0)
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Horizontal grid lines at quarters of `max` over a plot whose bottom
/// edge is at `bottom`, each labelled left of `left`.
pub fn y_grid(canvas: &mut Canvas, left: i64, width: i64, (bottom, height): (i64, i64), max: f64) {
    for quarter in 0..=4 {
        let y = bottom - height * quarter / 4;
        let line = if quarter == 0 { DARK_GREY } else { GREY };
        canvas.rect(left, y, width, 1, line);
        let label = short(max * quarter as f64 / 4.0);
        let x = left - 8 - Canvas::text_width(&label, 1);
        canvas.text(x, y - 4, &label, DARK_GREY, 1);
    }
}

/// Canvases are small; a PNG dimension is at most 2^31 - 1.
fn dimension(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).min(i32::MAX as u32)
}

/// Length, type, data, and the CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&dimension(data.len()).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a PNG back: every chunk's CRC, the header, and the pixels.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (mut at, mut header, mut idat, mut ended) = (8, None, Vec::new(), false);
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(kind);
            hasher.update(data);
            assert_eq!(
                hasher.finalize(),
                crc,
                "CRC of {:?}",
                String::from_utf8_lossy(kind)
            );
            match kind {
                b"IHDR" => header = Some(data.to_vec()),
                b"IDAT" => idat.extend_from_slice(data),
                b"IEND" => ended = true,
                _ => {}
            }
            at += 12 + len;
        }
        assert!(ended, "IEND last");
        let header = header.expect("an IHDR");
        assert_eq!(&header[8..], &[8, 2, 0, 0, 0]);
        let width = u32::from_be_bytes(header[0..4].try_into().unwrap());
        let height = u32::from_be_bytes(header[4..8].try_into().unwrap());
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("zlib data");
        (width, height, raw)
    }

    #[test]
    fn writes_a_png_that_decodes_back() {
        let mut canvas = Canvas::new(37, 21);
        canvas.rect(2, 3, 4, 5, PALETTE[0]);
        canvas.set(36, 20, BLACK);
        canvas.set(-1, 99, BLACK); // outside: ignored
        let (width, height, raw) = decode(&canvas.png());
        assert_eq!((width, height), (37, 21));
        let stride = 1 + 37 * 3;
        assert_eq!(raw.len(), 21 * stride);
        assert!(raw.chunks(stride).all(|row| row[0] == 0), "filter type 0");
        let pixel = |x: usize, y: usize| raw[y * stride + 1 + x * 3..][..3].to_vec();
        assert_eq!(pixel(3, 4), PALETTE[0]);
        assert_eq!(pixel(36, 20), BLACK);
        assert_eq!(pixel(0, 0), WHITE);
    }

    #[test]
    fn labels_values_briefly() {
        assert_eq!(short(25_612.0), "25.6k");
        assert_eq!(short(1_452.4), "1452");
        assert_eq!(short(12.34), "12.3");
        assert_eq!(short(4.678), "4.68");
    }

    #[test]
    fn draws_text_and_lines() {
        let mut canvas = Canvas::new(40, 20);
        canvas.text(0, 0, "1", BLACK, 1);
        // font8x8's "1": its stem is bits 2 and 3 of rows 0 to 5.
        assert_eq!(canvas.pixel(2, 1), Some(BLACK));
        assert_eq!(canvas.pixel(7, 7), Some(WHITE));
        canvas.line((10, 10), (30, 15), PALETTE[1], 1);
        assert_eq!(canvas.pixel(10, 10), Some(PALETTE[1]));
        assert_eq!(canvas.pixel(30, 15), Some(PALETTE[1]));
        assert_eq!(Canvas::text_width("abc", 2), 48);
    }
}
