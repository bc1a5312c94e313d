use delta_schema::arrow_schema::{DataType as A, TimeUnit};
use delta_schema::{
    ArrayType, DataType, MapType, PrimitiveType, SchemaError, StructField, StructType,
};

const ALL_TYPES: &str = r#"{"type":"struct","fields":[
 {"name":"s","type":"string","nullable":true,"metadata":{}},
 {"name":"l","type":"long","nullable":false,"metadata":{"comment":"a long"}},
 {"name":"i","type":"integer","nullable":true,"metadata":{}},
 {"name":"sh","type":"short","nullable":true,"metadata":{}},
 {"name":"b","type":"byte","nullable":true,"metadata":{}},
 {"name":"f","type":"float","nullable":true,"metadata":{}},
 {"name":"d","type":"double","nullable":true,"metadata":{}},
 {"name":"bo","type":"boolean","nullable":true,"metadata":{}},
 {"name":"bi","type":"binary","nullable":true,"metadata":{}},
 {"name":"da","type":"date","nullable":true,"metadata":{}},
 {"name":"ts","type":"timestamp","nullable":true,"metadata":{}},
 {"name":"tn","type":"timestamp_ntz","nullable":true,"metadata":{}},
 {"name":"de","type":"decimal(38,18)","nullable":true,"metadata":{"delta.columnMapping.id":7,"delta.columnMapping.physicalName":"col-7"}},
 {"name":"v","type":"variant","nullable":true,"metadata":{}},
 {"name":"n","type":"void","nullable":true,"metadata":{}},
 {"name":"a","type":{"type":"array","elementType":"integer","containsNull":false},"nullable":true,"metadata":{}},
 {"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"struct","fields":[{"name":"x","type":"long","nullable":true,"metadata":{}}]},"valueContainsNull":true},"nullable":true,"metadata":{}},
 {"name":"w","type":"long","nullable":true,"metadata":{"delta.typeChanges":[{"fromType":"integer","toType":"long","tableVersion":1}]}}
]}"#;

#[test]
fn parses_every_type() {
    let s = StructType::from_json(ALL_TYPES).unwrap();
    let types: Vec<String> = s.fields.iter().map(|f| f.data_type.to_string()).collect();
    assert_eq!(
        types,
        [
            "string",
            "long",
            "integer",
            "short",
            "byte",
            "float",
            "double",
            "boolean",
            "binary",
            "date",
            "timestamp",
            "timestamp_ntz",
            "decimal(38,18)",
            "variant",
            "void",
            "array<integer>",
            "map<string,struct<x:long>>",
            "long"
        ]
    );
    assert!(!s.fields[1].nullable);
    assert_eq!(s.fields[12].physical_name(), "col-7");
    assert_eq!(s.fields[12].column_mapping_id(), Some(7));
    assert_eq!(s.fields[0].physical_name(), "s");
}

#[test]
fn json_round_trip_is_exact() {
    let s = StructType::from_json(ALL_TYPES).unwrap();
    let again = StructType::from_json(&s.to_json()).unwrap();
    assert_eq!(s, again);
    let original: serde_json::Value = serde_json::from_str(ALL_TYPES).unwrap();
    assert_eq!(s.to_json_value(), original);
}

#[test]
fn arrow_types_are_canonical() {
    let s = StructType::from_json(ALL_TYPES).unwrap();
    let a = s.to_arrow();
    assert_eq!(
        a.field(10).data_type(),
        &A::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        a.field(11).data_type(),
        &A::Timestamp(TimeUnit::Microsecond, None)
    );
    assert_eq!(a.field(12).data_type(), &A::Decimal128(38, 18));
    assert_eq!(a.field(14).data_type(), &A::Null);
    assert_eq!(
        a.field(12).metadata()["delta.columnMapping.physicalName"],
        "col-7"
    );
    assert_eq!(a.field(12).metadata()["delta.columnMapping.id"], "7");
    assert_eq!(StructType::from_arrow(&a).unwrap(), s);
}

#[test]
fn arrow_encodings_of_the_same_values_are_accepted() {
    use delta_schema::arrow_schema::{Field, Schema};
    let a = Schema::new(vec![
        Field::new("s", A::LargeUtf8, true),
        Field::new("v", A::Utf8View, true),
        Field::new(
            "d",
            A::Dictionary(Box::new(A::Int32), Box::new(A::Utf8)),
            true,
        ),
        Field::new(
            "t",
            A::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into())),
            true,
        ),
        Field::new("u", A::UInt32, true),
    ]);
    let s = StructType::from_arrow(&a).unwrap();
    let types: Vec<String> = s.fields.iter().map(|f| f.data_type.to_string()).collect();
    assert_eq!(types, ["string", "string", "string", "timestamp", "long"]);
}

#[test]
fn unsupported_arrow_type_names_the_column() {
    use delta_schema::arrow_schema::{Field, Fields, Schema};
    let a = Schema::new(vec![Field::new(
        "outer",
        A::Struct(Fields::from(vec![Field::new("bad", A::UInt64, true)])),
        true,
    )]);
    let err = StructType::from_arrow(&a).unwrap_err();
    assert!(matches!(err, SchemaError::UnsupportedArrowType { .. }));
    assert_eq!(
        err.to_string(),
        "column 'outer.bad': Arrow type UInt64 has no Delta equivalent"
    );
}

#[test]
fn bad_schemas_get_clear_errors() {
    let cases = [
        ("not json", "schema is not valid JSON"),
        (
            r#"{"type":"struct"}"#,
            "malformed schema at $: missing key 'fields'",
        ),
        (
            r#"{"type":"struct","fields":[{"name":"a","type":"int","nullable":true}]}"#,
            "unknown Delta type 'int'",
        ),
        (
            r#"{"type":"struct","fields":[{"name":"a","type":"decimal(39,2)","nullable":true}]}"#,
            "invalid decimal(39,2)",
        ),
        (
            r#"{"type":"struct","fields":[{"name":"a","type":"long"}]}"#,
            "malformed schema at $.fields[0]: missing key 'nullable'",
        ),
        ("\"long\"", "top level must be a struct"),
    ];
    for (text, want) in cases {
        let err = StructType::from_json(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text}: got '{err}', want '{want}'");
    }
}

#[test]
fn builds_nested_types_by_hand() {
    let s = StructType::new([
        StructField::new("a", ArrayType::new(DataType::LONG, true), true),
        StructField::new(
            "m",
            MapType::new(DataType::STRING, DataType::DOUBLE, false),
            false,
        ),
        StructField::new("d", PrimitiveType::decimal(5, 2).unwrap(), true),
    ]);
    assert_eq!(StructType::from_json(&s.to_json()).unwrap(), s);
    assert!(PrimitiveType::decimal(3, 4).is_err());
}
