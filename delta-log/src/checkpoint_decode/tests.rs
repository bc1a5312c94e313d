use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, DictionaryArray, Int8Array, Int32Array,
    Int64Array, LargeListArray, LargeStringArray, LargeStringBuilder, ListArray, MapBuilder,
    MapFieldNames, StringArray, StringBuilder, StringViewArray, StringViewBuilder, UInt32Array,
    UInt64Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Int8Type, Int32Type};

use super::*;

/// A nullable struct column of these children, valid where `valid` says.
fn structure(children: Vec<(&str, ArrayRef)>, valid: &[bool]) -> ArrayRef {
    let fields: Fields = children
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    let arrays = children.into_iter().map(|(_, a)| a).collect();
    Arc::new(StructArray::new(
        fields,
        arrays,
        Some(NullBuffer::from(valid)),
    ))
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn decode(batch: &RecordBatch) -> DecodeResult<Vec<Option<Action>>> {
    let columns = CheckpointBatch::new(batch)?;
    (0..columns.num_rows()).map(|r| columns.action(r)).collect()
}

/// A map with entry fields `entries`/`k`/`v`, large-string keys and view
/// values: row 0 {part: null, x: "1"}, row 1 empty, rows 2.. null.
fn odd_map(rows: usize) -> ArrayRef {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "k".into(),
        value: "v".into(),
    };
    let mut b = MapBuilder::new(
        Some(names),
        LargeStringBuilder::new(),
        StringViewBuilder::new(),
    );
    b.keys().append_value("part");
    b.values().append_null();
    b.keys().append_value("x");
    b.values().append_value("1");
    b.append(true).unwrap();
    b.append(true).unwrap();
    for _ in 2..rows {
        b.append(false).unwrap();
    }
    Arc::new(b.finish())
}

#[test]
fn reads_the_forms_other_writers_use() {
    let n = 5;
    // tags as a list of (key, value) structs: row 0 {t: "v"}, others null
    let tag_entries = structure(
        vec![
            ("key", Arc::new(StringArray::from(vec!["t"])) as ArrayRef),
            ("value", Arc::new(StringArray::from(vec!["v"]))),
        ],
        &[true],
    );
    let tags = Arc::new(ListArray::new(
        Arc::new(Field::new("item", tag_entries.data_type().clone(), true)),
        OffsetBuffer::from_lengths([1, 0, 0, 0, 0]),
        tag_entries,
        Some(NullBuffer::from(vec![true, false, false, false, false])),
    ));
    // row 0: a full deletion vector (dictionary storage type, wide/narrow
    // integers); row 1: a struct with every field null, i.e. none
    let dv = structure(
        vec![
            (
                "storageType",
                Arc::new(DictionaryArray::<Int8Type>::from_iter([
                    Some("u"),
                    None,
                    None,
                    None,
                    None,
                ])) as ArrayRef,
            ),
            (
                "pathOrInlineDv",
                Arc::new(StringArray::from(vec![
                    Some("ab^-aqEH.-t@S}K{vb[*k^"),
                    None,
                    None,
                    None,
                    None,
                ])),
            ),
            (
                "offset",
                Arc::new(Int64Array::from(vec![Some(1), None, None, None, None])),
            ),
            (
                "sizeInBytes",
                Arc::new(Int64Array::from(vec![Some(36), None, None, None, None])),
            ),
            (
                "cardinality",
                Arc::new(Int32Array::from(vec![Some(2), None, None, None, None])),
            ),
            (
                "maxRowIndex",
                Arc::new(Int64Array::from(vec![Some(9), None, None, None, None])),
            ),
        ],
        &[true, true, false, false, false],
    );
    let add = structure(
        vec![
            (
                "path",
                Arc::new(StringViewArray::from(vec![
                    Some("a"),
                    Some("b"),
                    None,
                    None,
                    None,
                ])) as ArrayRef,
            ),
            ("partitionValues", odd_map(n)),
            (
                "size",
                Arc::new(Int32Array::from(vec![Some(10), Some(20), None, None, None])),
            ),
            (
                "modificationTime",
                Arc::new(UInt32Array::from(vec![Some(7), Some(8), None, None, None])),
            ),
            (
                "dataChange",
                Arc::new(BooleanArray::from(vec![
                    Some(false),
                    Some(true),
                    None,
                    None,
                    None,
                ])),
            ),
            (
                "stats",
                Arc::new(LargeStringArray::from(vec![
                    Some(r#"{"numRecords":3}"#),
                    None,
                    None,
                    None,
                    None,
                ])),
            ),
            ("tags", tags),
            ("deletionVector", dv),
            (
                "clusteringProvider",
                Arc::new(DictionaryArray::<Int32Type>::from_iter([
                    Some("liquid"),
                    None,
                    None,
                    None,
                    None,
                ])),
            ),
            // baseRowId, defaultRowCommitVersion: absent
        ],
        &[true, true, false, false, false],
    );
    let features = Arc::new(LargeListArray::new(
        Arc::new(Field::new("element", DataType::Utf8View, true)),
        OffsetBuffer::from_lengths([0, 0, 2, 0, 0]),
        Arc::new(StringViewArray::from(vec![
            "deletionVectors",
            "v2Checkpoint",
        ])),
        Some(NullBuffer::from(vec![false, false, true, false, false])),
    ));
    let protocol = structure(
        vec![
            (
                "minReaderVersion",
                Arc::new(Int64Array::from(vec![None, None, Some(3), None, None])) as ArrayRef,
            ),
            (
                "minWriterVersion",
                Arc::new(Int8Array::from(vec![None, None, Some(7), None, None])),
            ),
            ("readerFeatures", features.clone()),
            ("writerFeatures", features),
        ],
        &[false, false, true, false, false],
    );
    let mut configuration = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for row in 0..n {
        if row == 3 {
            configuration.keys().append_value("delta.appendOnly");
            configuration.values().append_value("true");
            configuration.keys().append_value("unset");
            configuration.values().append_null();
        }
        configuration.append(row == 3).unwrap();
    }
    let metadata = structure(
        vec![
            (
                "id",
                Arc::new(StringArray::from(vec![None, None, None, Some("id"), None])) as ArrayRef,
            ),
            (
                "schemaString",
                Arc::new(LargeStringArray::from(vec![
                    None,
                    None,
                    None,
                    Some("{}"),
                    None,
                ])),
            ),
            (
                "partitionColumns",
                Arc::new(ListArray::new(
                    Arc::new(Field::new("element", DataType::LargeUtf8, true)),
                    OffsetBuffer::from_lengths([0, 0, 0, 1, 0]),
                    Arc::new(LargeStringArray::from(vec!["part"])),
                    Some(NullBuffer::from(vec![false, false, false, true, false])),
                )),
            ),
            ("configuration", Arc::new(configuration.finish())),
            // name, description, format, createdTime: absent
        ],
        &[false, false, false, true, false],
    );
    let b = batch(vec![
        ("add", add),
        ("protocol", protocol),
        ("metaData", metadata),
    ]);
    let got = decode(&b).unwrap();

    let expected_add_0 = Add {
        path: "a".into(),
        partition_values: [
            ("part".to_string(), None),
            ("x".to_string(), Some("1".to_string())),
        ]
        .into(),
        size: 10,
        modification_time: 7,
        data_change: false,
        stats: Some(r#"{"numRecords":3}"#.into()),
        tags: Some([("t".to_string(), Some("v".to_string()))].into()),
        deletion_vector: Some(DeletionVectorDescriptor {
            storage_type: "u".into(),
            path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".into(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        }),
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: Some("liquid".into()),
    };
    let expected_add_1 = Add {
        path: "b".into(),
        partition_values: HashMap::new(),
        size: 20,
        modification_time: 8,
        data_change: true,
        stats: None,
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    };
    let features = Some(vec![
        "deletionVectors".to_string(),
        "v2Checkpoint".to_string(),
    ]);
    let expected = vec![
        Some(Action::Add(expected_add_0)),
        Some(Action::Add(expected_add_1)),
        Some(Action::Protocol(Protocol {
            min_reader_version: 3,
            min_writer_version: 7,
            reader_features: features.clone(),
            writer_features: features,
        })),
        Some(Action::Metadata(Metadata {
            id: "id".into(),
            name: None,
            description: None,
            format: Format::default(),
            schema_string: "{}".into(),
            partition_columns: vec!["part".into()],
            created_time: None,
            configuration: [("delta.appendOnly".to_string(), "true".to_string())].into(),
        })),
        None,
    ];
    assert_eq!(got, expected);
}

/// An `add` column of two rows (the second null) with these children
/// replacing or adding to a complete set.
fn add_with(replace: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let mut children: Vec<(&str, ArrayRef)> = vec![
        ("path", Arc::new(StringArray::from(vec![Some("p"), None]))),
        ("size", Arc::new(Int64Array::from(vec![Some(1), None]))),
        (
            "modificationTime",
            Arc::new(Int64Array::from(vec![Some(2), None])),
        ),
        (
            "dataChange",
            Arc::new(BooleanArray::from(vec![Some(true), None])),
        ),
    ];
    for (name, array) in replace {
        children.retain(|(n, _)| *n != name);
        children.push((name, array));
    }
    batch(vec![("add", structure(children, &[true, false]))])
}

fn error_of(batch: &RecordBatch) -> String {
    match decode(batch) {
        Ok(actions) => panic!("decoded {actions:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_complete_add_decodes() {
    let got = decode(&add_with(vec![])).unwrap();
    assert!(matches!(&got[..], [Some(Action::Add(a)), None] if a.path == "p" && a.size == 1));
}

#[test]
fn missing_or_null_required_fields_are_named() {
    let null_path = add_with(vec![(
        "path",
        Arc::new(StringArray::from(vec![None::<&str>, None])),
    )]);
    assert_eq!(error_of(&null_path), "add.path is missing");

    let mut no_size = add_with(vec![]);
    let add = no_size.column(0).as_struct().clone();
    let (fields, columns, nulls) = add.into_parts();
    let keep: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].name() != "size")
        .collect();
    let add = StructArray::new(
        keep.iter().map(|&i| fields[i].clone()).collect(),
        keep.iter().map(|&i| columns[i].clone()).collect(),
        nulls,
    );
    no_size = batch(vec![("add", Arc::new(add))]);
    assert_eq!(error_of(&no_size), "add.size is missing");

    let half_dv = structure(
        vec![(
            "storageType",
            Arc::new(StringArray::from(vec![Some("u"), None])) as ArrayRef,
        )],
        &[true, false],
    );
    let b = add_with(vec![("deletionVector", half_dv)]);
    assert_eq!(error_of(&b), "add.deletionVector.pathOrInlineDv is missing");
}

#[test]
fn wrong_types_and_values_that_do_not_fit_are_errors() {
    let b = add_with(vec![(
        "path",
        Arc::new(Int64Array::from(vec![Some(1), None])),
    )]);
    assert_eq!(error_of(&b), "column add.path holds Int64, not strings");

    let b = add_with(vec![(
        "size",
        Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
    )]);
    assert!(
        error_of(&b).starts_with("column add.size:"),
        "{}",
        error_of(&b)
    );

    let dv = structure(
        vec![
            (
                "storageType",
                Arc::new(StringArray::from(vec![Some("u"), None])) as ArrayRef,
            ),
            (
                "pathOrInlineDv",
                Arc::new(StringArray::from(vec![Some("x"), None])),
            ),
            (
                "sizeInBytes",
                Arc::new(Int64Array::from(vec![Some(1 << 40), None])),
            ),
            (
                "cardinality",
                Arc::new(Int64Array::from(vec![Some(1), None])),
            ),
        ],
        &[true, false],
    );
    let b = add_with(vec![("deletionVector", dv)]);
    assert_eq!(
        error_of(&b),
        "add.deletionVector.sizeInBytes is 1099511627776, out of range for a 32-bit integer"
    );

    let b = batch(vec![(
        "add",
        Arc::new(Int64Array::from(vec![1])) as ArrayRef,
    )]);
    assert_eq!(error_of(&b), "column add holds Int64, not a struct");

    // binary strings are read when they are UTF-8
    let path =
        |bytes: &'static [u8]| Arc::new(BinaryArray::from(vec![Some(bytes), None])) as ArrayRef;
    let got = decode(&add_with(vec![("path", path(b"p"))])).unwrap();
    assert!(matches!(&got[0], Some(Action::Add(a)) if a.path == "p"));
    let b = add_with(vec![("path", path(b"\xff"))]);
    assert!(
        error_of(&b).starts_with("column add.path:"),
        "{}",
        error_of(&b)
    );
}

#[test]
fn null_list_elements_are_errors() {
    let columns = structure(
        vec![(
            "partitionColumns",
            Arc::new(ListArray::new(
                Arc::new(Field::new("element", DataType::Utf8, true)),
                OffsetBuffer::from_lengths([1]),
                Arc::new(StringArray::from(vec![None::<&str>])),
                None,
            )) as ArrayRef,
        )],
        &[true],
    );
    let b = batch(vec![("metaData", columns)]);
    assert_eq!(error_of(&b), "metaData.partitionColumns has a null element");
}
