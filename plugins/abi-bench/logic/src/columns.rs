//! Reading the packed string columns of design C.

/// String `i` of a packed column: `bytes[offsets[i] .. offsets[i + 1]]`.
/// Out-of-range offsets yield an empty slice rather than a panic (a trap
/// would poison the instance; the host validates edits anyway).
pub fn string_at<'a>(bytes: &'a [u8], offsets: &[u32], i: usize) -> &'a [u8] {
    let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
        return &[];
    };
    bytes.get(start as usize..end as usize).unwrap_or(&[])
}
