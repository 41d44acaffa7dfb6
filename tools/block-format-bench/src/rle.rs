//! What the `parquet` crate does not expose without its `experimental` feature (which pulls in
//! arrow): decoding the RLE / bit-packed hybrid encoding of definition levels and dictionary
//! indices, so queries can work on dictionary indices straight from the pages
//! (`RowGroupReader::get_column_page_reader`) instead of materialising every value.
//! Only data pages V1 (the writer's default, `WriterVersion::PARQUET_1_0`) are handled.

use anyhow::{Context, Result, bail, ensure};
use parquet::basic::Encoding;
use parquet::column::page::Page;

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *buf.get(*pos).context("truncated varint")?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        ensure!(shift < 64, "varint too long");
    }
}

/// Appends `count` values of the RLE / bit-packed hybrid encoding in `buf` to `out`; returns
/// the bytes consumed.
pub fn decode_hybrid(buf: &[u8], bit_width: u8, count: usize, out: &mut Vec<u32>) -> Result<usize> {
    ensure!(bit_width <= 32, "bit width {bit_width}");
    let target = out.len() + count;
    out.reserve(count);
    let mut pos = 0;
    let width = bit_width as usize;
    let mask: u64 = if width == 32 {
        u32::MAX as u64
    } else {
        (1u64 << width) - 1
    };
    while out.len() < target {
        let header = varint(buf, &mut pos)?;
        if header & 1 == 0 {
            let run = (header >> 1) as usize;
            let width_bytes = width.div_ceil(8);
            let bytes = buf
                .get(pos..pos + width_bytes)
                .context("truncated RLE run")?;
            let mut value = 0u32;
            for (i, byte) in bytes.iter().enumerate() {
                value |= u32::from(*byte) << (8 * i);
            }
            pos += width_bytes;
            let take = run.min(target - out.len());
            out.extend(std::iter::repeat_n(value, take));
        } else {
            let groups = (header >> 1) as usize;
            let bytes = groups * width;
            let data = buf
                .get(pos..pos + bytes)
                .context("truncated bit-packed run")?;
            pos += bytes;
            let take = (groups * 8).min(target - out.len());
            if width == 0 {
                out.extend(std::iter::repeat_n(0, take));
                continue;
            }
            if width <= 16 {
                // Fast path: a group of 8 values is `width` bytes (≤ 16): one u128 load.
                let mut left = take;
                for group in data.chunks_exact(width) {
                    if left == 0 {
                        break;
                    }
                    let mut bytes = [0u8; 16];
                    bytes[..width].copy_from_slice(group);
                    let word = u128::from_le_bytes(bytes);
                    let mut values = [0u32; 8];
                    for (k, value) in values.iter_mut().enumerate() {
                        *value = ((word >> (k * width)) as u64 & mask) as u32;
                    }
                    let n = left.min(8);
                    out.extend_from_slice(&values[..n]);
                    left -= n;
                }
                continue;
            }
            for i in 0..take {
                let bit = i * width;
                let byte = bit / 8;
                let mut window = [0u8; 8];
                let end = (byte + 8).min(data.len());
                window[..end - byte].copy_from_slice(&data[byte..end]);
                let word = u64::from_le_bytes(window);
                out.push(((word >> (bit % 8)) & mask) as u32);
            }
        }
    }
    Ok(pos)
}

/// A data page V1 split into definition levels (`None` for a required column) and the
/// bytes of its non-null values.
pub struct DataPage<'a> {
    pub num_levels: usize,
    /// One entry per row: 1 = value present, 0 = null (max definition level 1 only).
    pub defs: Option<Vec<u32>>,
    pub encoding: Encoding,
    pub values: &'a [u8],
}

impl<'a> DataPage<'a> {
    pub fn split(page: &'a Page, optional: bool) -> Result<DataPage<'a>> {
        let Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            ..
        } = page
        else {
            bail!("not a data page V1: {:?}", page.page_type());
        };
        let num_levels = *num_values as usize;
        let buf: &'a [u8] = buf.as_ref();
        if !optional {
            return Ok(DataPage {
                num_levels,
                defs: None,
                encoding: *encoding,
                values: buf,
            });
        }
        ensure!(
            *def_level_encoding == Encoding::RLE,
            "def levels {def_level_encoding}"
        );
        let length = u32::from_le_bytes(buf.get(..4).context("short page")?.try_into()?) as usize;
        let mut defs = Vec::with_capacity(num_levels);
        decode_hybrid(
            buf.get(4..4 + length).context("short page")?,
            1,
            num_levels,
            &mut defs,
        )?;
        Ok(DataPage {
            num_levels,
            defs: Some(defs),
            encoding: *encoding,
            values: &buf[4 + length..],
        })
    }

    pub fn non_null(&self) -> usize {
        match &self.defs {
            None => self.num_levels,
            Some(defs) => defs.iter().filter(|d| **d != 0).count(),
        }
    }

    /// Dictionary indices of the non-null values (RLE_DICTIONARY / PLAIN_DICTIONARY pages).
    pub fn dictionary_indices(&self, out: &mut Vec<u32>) -> Result<()> {
        ensure!(
            matches!(
                self.encoding,
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
            ),
            "page is {} encoded",
            self.encoding
        );
        let count = self.non_null();
        if count == 0 {
            return Ok(());
        }
        let bit_width = *self.values.first().context("empty dictionary page data")?;
        decode_hybrid(&self.values[1..], bit_width, count, out)?;
        Ok(())
    }
}

/// The values of a PLAIN-encoded BYTE_ARRAY buffer (dictionary pages and fallback pages).
pub fn plain_byte_arrays(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let length = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let value = buf.get(4..4 + length)?;
        buf = &buf[4 + length..];
        Some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_and_bit_packed_runs() {
        // RLE run: 5 × value 3 (width 2 → 1 byte); bit-packed: 1 group of 8 values width 2.
        let mut buf = vec![5 << 1, 3];
        buf.push((1 << 1) | 1);
        // values 0,1,2,3,0,1,2,3 packed LSB first, 2 bits each → 0b11100100 twice
        buf.extend([0b1110_0100, 0b1110_0100]);
        let mut out = Vec::new();
        let used = decode_hybrid(&buf, 2, 13, &mut out).unwrap();
        assert_eq!(used, buf.len());
        assert_eq!(out, vec![3, 3, 3, 3, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    }

    /// Bit-packs `values` (a multiple of 8) LSB first, as Parquet does.
    fn pack(values: &[u32], width: usize) -> Vec<u8> {
        let mut out = vec![0u8; values.len() * width / 8];
        for (i, v) in values.iter().enumerate() {
            for b in 0..width {
                if v >> b & 1 == 1 {
                    let bit = i * width + b;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    #[test]
    fn bit_packed_every_width() {
        for width in 1..=32usize {
            let values: Vec<u32> = (0..24u64)
                .map(|i| ((i * 2_654_435_761) & ((1u64 << width) - 1)) as u32)
                .collect();
            let mut buf = vec![((3 << 1) | 1) as u8];
            buf.extend(pack(&values, width));
            let mut out = Vec::new();
            decode_hybrid(&buf, width as u8, 21, &mut out).unwrap();
            assert_eq!(out, values[..21], "width {width}");
        }
    }
}
