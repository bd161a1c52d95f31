//! The frame marker (docs/markers.md): who sent a video frame and which frame it is, painted as
//! large black and white luma cells that survive a low-bitrate encode and a scaled receive.
//!
//! A pure core, like `net::impair`: [`paint`] writes a [`Marker`] into an I420 luma plane and
//! [`read`] finds it again in one (of any size: cells are placed relative to the frame). Every
//! sender paints the same layout, so a receiver of any stack can say whose frame it shows and
//! which one; the check bits make a misread a `None`, never another sender.
//!
//! Layout: the top quarter of the frame is a band of 4 rows x 10 columns of equal cells. Each row
//! starts with a white and a black reference cell (the threshold of that row, so a brighter or
//! darker encode still reads) and carries 8 data bits, most significant first: 32 bits in all,
//! `sender` (5 bits), `source` (3), `index` (16), then a CRC-8 of those three bytes.

/// Luma of a white and a black cell (BT.601 studio range, what encoders keep intact).
pub const WHITE: u8 = 235;
pub const BLACK: u8 = 16;

const ROWS: usize = 4;
const COLUMNS: usize = 10;
const REFERENCES: usize = 2;
const BITS_PER_ROW: usize = COLUMNS - REFERENCES;

/// What a marked frame says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The sending participant, 0 to 31 (a case's peers, an SFU room's publishers).
    pub sender: u8,
    /// The sender's source, 0 to 7: a `replace_track` switches to a new one.
    pub source: u8,
    /// The frame's number in its source, wrapping at 65,536 (36 minutes at 30 fps).
    pub index: u16,
}

impl Marker {
    pub const MAX_SENDER: u8 = 31;
    pub const MAX_SOURCE: u8 = 7;

    /// `None` for a sender or source out of range.
    pub fn new(sender: u8, source: u8, index: u16) -> Option<Marker> {
        (sender <= Self::MAX_SENDER && source <= Self::MAX_SOURCE).then_some(Marker { sender, source, index })
    }

    fn bits(self) -> u32 {
        let body = [(self.sender << 3) | self.source, (self.index >> 8) as u8, self.index as u8];
        u32::from_be_bytes([body[0], body[1], body[2], crc8(&body)])
    }

    fn from_bits(bits: u32) -> Option<Marker> {
        let [head, hi, lo, check] = bits.to_be_bytes();
        (crc8(&[head, hi, lo]) == check).then_some(Marker { sender: head >> 3, source: head & 0x07, index: u16::from_be_bytes([hi, lo]) })
    }
}

/// CRC-8 with the polynomial 0x07 (ITU-T I.432.1's HEC): any one- or two-bit error is caught.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ 0x07 } else { crc << 1 };
        }
    }
    crc
}

/// The pixel rectangle of cell (row, column) in a `width` x `height` frame: `[x0, x1) x [y0, y1)`.
fn cell(row: usize, column: usize, width: usize, height: usize) -> (usize, usize, usize, usize) {
    let band = height / 4;
    (column * width / COLUMNS, (column + 1) * width / COLUMNS, row * band / ROWS, (row + 1) * band / ROWS)
}

/// Paints `marker` into the luma plane `y` (`width` x `height`, row stride `width`), over whatever
/// the frame shows there.
pub fn paint(y: &mut [u8], width: usize, height: usize, marker: Marker) {
    assert!(y.len() >= width * height, "a luma plane of {width}x{height}");
    let bits = marker.bits();
    for row in 0..ROWS {
        for column in 0..COLUMNS {
            let white = match column {
                0 => true,
                1 => false,
                c => (bits >> (31 - (row * BITS_PER_ROW + c - REFERENCES))) & 1 == 1,
            };
            let (x0, x1, y0, y1) = cell(row, column, width, height);
            for line in y[y0 * width..y1 * width].chunks_mut(width) {
                line[x0..x1].fill(if white { WHITE } else { BLACK });
            }
        }
    }
}

/// The mean luma of the middle half of a cell (its edges are where an encoder blurs); `stride` is
/// the plane's row length.
fn middle_mean(y: &[u8], stride: usize, (x0, x1, y0, y1): (usize, usize, usize, usize)) -> f64 {
    let (dx, dy) = ((x1 - x0) / 4, (y1 - y0) / 4);
    let (xs, ys) = (x0 + dx..(x1 - dx).max(x0 + dx + 1), y0 + dy..(y1 - dy).max(y0 + dy + 1));
    let (mut sum, mut n) = (0u64, 0u64);
    for row in ys {
        for x in xs.clone() {
            sum += u64::from(y[row * stride + x]);
            n += 1;
        }
    }
    sum as f64 / n as f64
}

/// The marker in the luma plane `y` (`width` x `height`), or `None` when there is none to read: no
/// contrast between a row's reference cells, or check bits that do not match.
pub fn read(y: &[u8], width: usize, height: usize) -> Option<Marker> {
    read_strided(y, width, height, width)
}

/// [`read`] from a plane whose rows are `stride` bytes apart (a decoder's picture buffer, wider
/// than the picture).
pub fn read_strided(y: &[u8], width: usize, height: usize, stride: usize) -> Option<Marker> {
    if width < COLUMNS * 2 || height < ROWS * 4 * 2 || stride < width || y.len() < stride * (height - 1) + width {
        return None;
    }
    let mut bits = 0u32;
    for row in 0..ROWS {
        let white = middle_mean(y, stride, cell(row, 0, width, height));
        let black = middle_mean(y, stride, cell(row, 1, width, height));
        // Half the painted contrast at least: a frame without a marker has no such pair.
        if white - black < f64::from(WHITE - BLACK) / 2.0 {
            return None;
        }
        let threshold = (white + black) / 2.0;
        for column in REFERENCES..COLUMNS {
            let bit = middle_mean(y, stride, cell(row, column, width, height)) > threshold;
            bits = (bits << 1) | u32::from(bit);
        }
    }
    Marker::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bits_match_the_kernels() {
        // stacks/python/kernel/test_kernel.py's Marker.test_the_reference_bits: the same word.
        assert_eq!(Marker::new(21, 3, 0xBEEF).unwrap().bits(), 0xABBE_EFBE);
    }

    fn grey(width: usize, height: usize) -> Vec<u8> {
        vec![128; width * height]
    }

    /// Halves a plane with a 2x2 box filter, as a scaler does.
    fn half(y: &[u8], width: usize, height: usize) -> Vec<u8> {
        let (w, h) = (width / 2, height / 2);
        let mut out = vec![0; w * h];
        for r in 0..h {
            for c in 0..w {
                let s = |dr: usize, dc: usize| u32::from(y[(2 * r + dr) * width + 2 * c + dc]);
                out[r * w + c] = ((s(0, 0) + s(0, 1) + s(1, 0) + s(1, 1) + 2) / 4) as u8;
            }
        }
        out
    }

    /// A 3x3 box blur and a deterministic +-`amp` noise: what a low-bitrate encode does to edges.
    fn degrade(y: &[u8], width: usize, height: usize, amp: i32) -> Vec<u8> {
        let mut out = y.to_vec();
        let mut seed = 0x2545_f491_u32;
        for r in 1..height - 1 {
            for c in 1..width - 1 {
                let mut sum = 0u32;
                for dr in 0..3 {
                    for dc in 0..3 {
                        sum += u32::from(y[(r + dr - 1) * width + c + dc - 1]);
                    }
                }
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let noise = (seed % (2 * amp as u32 + 1)) as i32 - amp;
                out[r * width + c] = (sum as i32 / 9 + noise).clamp(0, 255) as u8;
            }
        }
        out
    }

    #[test]
    fn a_painted_marker_reads_back_at_any_frame_size() {
        for (w, h) in [(320, 240), (640, 480), (176, 144), (1280, 720)] {
            for m in [Marker::new(0, 0, 0).unwrap(), Marker::new(31, 7, 65535).unwrap(), Marker::new(17, 2, 4242).unwrap()] {
                let mut y = grey(w, h);
                paint(&mut y, w, h, m);
                assert_eq!(read(&y, w, h), Some(m), "{w}x{h} {m:?}");
            }
        }
    }

    #[test]
    fn it_survives_scaling_to_half_blur_noise_and_a_duller_picture() {
        let (w, h) = (320, 240);
        let m = Marker::new(9, 1, 30_001).unwrap();
        let mut y = grey(w, h);
        paint(&mut y, w, h, m);
        let small = half(&y, w, h);
        assert_eq!(read(&small, w / 2, h / 2), Some(m), "half size");
        let rough = degrade(&small, w / 2, h / 2, 25);
        assert_eq!(read(&rough, w / 2, h / 2), Some(m), "half size, blurred, noisy");
        let dull: Vec<u8> = y.iter().map(|&v| (f64::from(v) * 0.7 + 30.0) as u8).collect();
        assert_eq!(read(&dull, w, h), Some(m), "contrast 0.7, brighter");
    }

    #[test]
    fn a_misread_is_none_never_another_sender() {
        let (w, h) = (320, 240);
        let m = Marker::new(3, 0, 77).unwrap();
        let mut y = grey(w, h);
        paint(&mut y, w, h, m);
        // Flip one data cell (row 1, column 4).
        let (x0, x1, y0, y1) = cell(1, 4, w, h);
        let value = if y[y0 * w + x0] == WHITE { BLACK } else { WHITE };
        for line in y[y0 * w..y1 * w].chunks_mut(w) {
            line[x0..x1].fill(value);
        }
        assert_eq!(read(&y, w, h), None);
        for bit in 0..32 {
            assert_eq!(Marker::from_bits(m.bits() ^ (1 << bit)), None, "bit {bit} flipped");
        }
    }

    #[test]
    fn a_frame_without_a_marker_reads_nothing() {
        let (w, h) = (320, 240);
        assert_eq!(read(&grey(w, h), w, h), None);
        assert_eq!(read(&degrade(&grey(w, h), w, h, 60), w, h), None);
        assert_eq!(read(&[0; 10], 5, 2), None, "too small to hold one");
    }

    #[test]
    fn out_of_range_markers_are_refused() {
        assert!(Marker::new(32, 0, 0).is_none());
        assert!(Marker::new(0, 8, 0).is_none());
    }
}
