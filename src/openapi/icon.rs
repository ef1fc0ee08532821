//! The connector icon: a 230×230 PNG in the brand colour with a white chat bubble, drawn in
//! code (2-colour palette, uncompressed deflate) so that it is reproducible byte for byte.

const SIZE: u32 = 230;
/// `iconBrandColor`.
pub const BRAND: [u8; 3] = [0xda, 0x3b, 0x01];

fn inside_rounded_rect(x: i32, y: i32, (x0, y0, x1, y1): (i32, i32, i32, i32), r: i32) -> bool {
    if x < x0 || x > x1 || y < y0 || y > y1 {
        return false;
    }
    let cx = x.clamp(x0 + r, x1 - r);
    let cy = y.clamp(y0 + r, y1 - r);
    (x - cx).pow(2) + (y - cy).pow(2) <= r * r
}

/// Whether pixel (x, y) is white.
fn white(x: i32, y: i32) -> bool {
    let bubble = inside_rounded_rect(x, y, (40, 50, 190, 155), 28);
    // The tail: a triangle below the bubble's left part.
    let t = y - 150;
    let tail = (0..=40).contains(&t) && x >= 70 - t * 5 / 40 && x <= 110 - t * 45 / 40;
    let dot = [85, 115, 145]
        .iter()
        .any(|&cx| (x - cx).pow(2) + (y - 102).pow(2) <= 121);
    (bubble || tail) && !dot
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The icon's PNG bytes.
pub fn icon_png() -> Vec<u8> {
    let row_bytes = SIZE.div_ceil(8) as usize;
    let mut raw = Vec::with_capacity((row_bytes + 1) * SIZE as usize);
    for y in 0..SIZE as i32 {
        raw.push(0); // filter: none
        let mut row = vec![0u8; row_bytes];
        for x in 0..SIZE as i32 {
            if white(x, y) {
                row[x as usize / 8] |= 0x80 >> (x % 8);
            }
        }
        raw.extend_from_slice(&row);
    }
    // zlib stream with one stored (uncompressed) deflate block; raw is < 65536 bytes.
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIZE.to_be_bytes());
    ihdr.extend_from_slice(&SIZE.to_be_bytes());
    ihdr.extend_from_slice(&[1, 3, 0, 0, 0]); // 1 bit, palette, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    let mut palette = BRAND.to_vec();
    palette.extend_from_slice(&[0xff, 0xff, 0xff]);
    chunk(&mut png, b"PLTE", &palette);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}
