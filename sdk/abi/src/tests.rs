use proptest::prelude::*;

use crate::batch::column;
use crate::*;

#[test]
fn widths_and_names_cover_every_column() {
    assert_eq!(column::COUNT, 36);
    assert!(column::WIDTHS.iter().all(|&w| [1, 4, 8, 16].contains(&w)));
    assert_eq!(
        column::NAMES[column::LINK_ATTRIBUTES + column::KEYS],
        "link-attributes.keys"
    );
    assert_eq!(column::NAMES[column::SERVICES], "services");
}

#[test]
fn an_empty_batch_is_a_directory_of_zeros() {
    let mut out = vec![1, 2, 3];
    BatchBuilder::default().write_columns(&mut out);
    assert_eq!(out, vec![0; column::DIRECTORY_BYTES]);
    let view = BatchView::parse(&out, &[]).unwrap();
    assert!((0..column::COUNT).all(|c| view.count(c) == 0));
    assert_eq!(view.u64_at(column::START, 0), None);
}

#[test]
fn short_misaligned_and_out_of_range_directories_are_refused() {
    assert!(matches!(
        BatchView::parse(&[0; 10], &[]),
        Err(LayoutError::ShortDirectory { len: 10, .. })
    ));
    let mut buffer = vec![0u8; column::DIRECTORY_BYTES + 16];
    let entry = column::START * 8;
    buffer[entry..entry + 4].copy_from_slice(&(column::DIRECTORY_BYTES as u32).to_le_bytes());
    buffer[entry + 4..entry + 8].copy_from_slice(&3u32.to_le_bytes());
    let error = BatchView::parse(&buffer, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("column 7 (start) claims 3 elements"),
        "{error}"
    );
    buffer[entry..entry + 4].copy_from_slice(&(column::DIRECTORY_BYTES as u32 + 4).to_le_bytes());
    buffer[entry + 4..entry + 8].copy_from_slice(&1u32.to_le_bytes());
    assert!(matches!(
        BatchView::parse(&buffer, &[]),
        Err(LayoutError::Misaligned { column: 7, .. })
    ));
}

#[test]
fn ids_are_cut_or_padded_to_their_width() {
    let mut builder = BatchBuilder::default();
    builder.push_id(column::SPAN_ID, &[1, 2, 3]);
    builder.push_id(column::SPAN_ID, &[9; 12]);
    let mut out = Vec::new();
    builder.write_columns(&mut out);
    let view = BatchView::parse(&out, &builder.strings).unwrap();
    assert_eq!(
        view.id_at(column::SPAN_ID, 0),
        Some(&[1, 2, 3, 0, 0, 0, 0, 0][..])
    );
    assert_eq!(view.id_at(column::SPAN_ID, 1), Some(&[9; 8][..]));
    // Each column's bytes are where `byte_range` says.
    assert_eq!(
        view.byte_range(column::SPAN_ID),
        column::DIRECTORY_BYTES..column::DIRECTORY_BYTES + 16
    );
    assert_eq!(
        &out[view.byte_range(column::SPAN_ID)],
        view.column(column::SPAN_ID)
    );
    assert!(view.byte_range(column::NAME).is_empty());
}

#[test]
fn a_reference_outside_the_arena_reads_as_none() {
    let mut builder = BatchBuilder::default();
    builder.push_u64(column::NAME, StrRef { offset: 2, len: 5 }.to_u64());
    builder.strings.extend_from_slice(b"abc");
    let mut out = Vec::new();
    builder.write_columns(&mut out);
    let view = BatchView::parse(&out, &builder.strings).unwrap();
    assert_eq!(view.str_at(column::NAME, 0), None);
}

#[test]
fn ragged_edit_records_are_refused() {
    assert_eq!(
        EditRecords::parse(&[0; 25]).unwrap_err(),
        LayoutError::RaggedEdits { len: 25 }
    );
}

/// Elements to push: (column, value); the value is cut to the column's width.
fn pushes() -> impl Strategy<Value = Vec<(usize, u64, Vec<u8>)>> {
    proptest::collection::vec(
        (
            0..column::COUNT,
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..20),
        ),
        0..60,
    )
}

proptest! {
    /// Whatever is pushed in whatever order reads back, column by column.
    #[test]
    fn built_batches_read_back(pushes in pushes()) {
        let mut builder = BatchBuilder::default();
        let mut expected: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); column::COUNT];
        for (col, number, text) in &pushes {
            let width = column::WIDTHS[*col];
            match width {
                1 => builder.push_u8(*col, *number as u8),
                4 => builder.push_u32(*col, *number as u32),
                8 if col % 2 == 0 => builder.push_str(*col, text),
                8 => builder.push_u64(*col, *number),
                _ => builder.push_id(*col, text),
            }
            expected[*col].push((*number, text.clone()));
        }
        let mut out = Vec::new();
        builder.write_columns(&mut out);
        let view = BatchView::parse(&out, &builder.strings).unwrap();
        for (col, values) in expected.iter().enumerate() {
            prop_assert_eq!(view.count(col), values.len());
            for (index, (number, text)) in values.iter().enumerate() {
                match column::WIDTHS[col] {
                    1 => prop_assert_eq!(view.u8_at(col, index), Some(*number as u8)),
                    4 => prop_assert_eq!(view.u32_at(col, index), Some(*number as u32)),
                    8 if col % 2 == 0 => prop_assert_eq!(view.str_at(col, index), Some(&text[..])),
                    8 => prop_assert_eq!(view.u64_at(col, index), Some(*number)),
                    _ => {
                        let mut id = text.clone();
                        id.resize(16, 0);
                        prop_assert_eq!(view.id_at(col, index), Some(&id[..]));
                    }
                }
            }
        }
    }

    /// Any buffer parses or is refused, and never panics; a parsed one reads without
    /// panicking anywhere.
    #[test]
    fn arbitrary_buffers_never_panic(columns in proptest::collection::vec(any::<u8>(), 0..400),
                                     strings in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(view) = BatchView::parse(&columns, &strings) {
            for col in 0..column::COUNT {
                for index in 0..view.count(col) + 1 {
                    let _ = (view.u8_at(col, index), view.u32_at(col, index), view.u64_at(col, index));
                    let _ = (view.str_at(col, index), view.range_at(col, index), view.id_at(col, index));
                }
            }
        }
    }

    #[test]
    fn edit_records_round_trip(records in proptest::collection::vec(
        (any::<u8>(), any::<u8>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>()), 0..20)) {
        let mut bytes = Vec::new();
        let records: Vec<EditRecord> = records
            .into_iter()
            .map(|(op, kind, target, offset, len, value)| EditRecord {
                op, kind, target, key: StrRef { offset, len }, value,
            })
            .collect();
        for record in &records {
            record.encode(&mut bytes);
        }
        prop_assert_eq!(bytes.len(), records.len() * EDIT_RECORD_BYTES);
        let decoded: Vec<EditRecord> = EditRecords::parse(&bytes).unwrap().collect();
        prop_assert_eq!(decoded, records);
    }
}
