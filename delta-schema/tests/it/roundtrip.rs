//! Property tests: random Delta schemas survive JSON and Arrow round trips.

use delta_schema::{ArrayType, DataType, MapType, PrimitiveType, StructField, StructType};
use proptest::prelude::*;
use serde_json::Value;

fn primitive() -> impl Strategy<Value = DataType> {
    use PrimitiveType as P;
    prop_oneof![
        Just(P::String),
        Just(P::Long),
        Just(P::Integer),
        Just(P::Short),
        Just(P::Byte),
        Just(P::Float),
        Just(P::Double),
        Just(P::Boolean),
        Just(P::Binary),
        Just(P::Date),
        Just(P::Timestamp),
        Just(P::TimestampNtz),
        Just(P::Variant),
        Just(P::Void),
        (1u8..=38)
            .prop_flat_map(|p| (Just(p), 0..=p))
            .prop_map(|(p, s)| P::Decimal {
                precision: p,
                scale: s
            }),
    ]
    .prop_map(DataType::Primitive)
}

fn metadata_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9-]{0,8}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        // strings that look like JSON must stay strings
        Just(Value::from("123")),
        Just(Value::from("true")),
        Just(serde_json::json!([{"fromType": "integer", "toType": "long", "tableVersion": 3}])),
    ]
}

fn field(t: DataType) -> impl Strategy<Value = StructField> {
    (
        "[a-zA-Z_][a-zA-Z0-9_ .]{0,10}",
        any::<bool>(),
        proptest::collection::btree_map("[a-z.]{1,12}", metadata_value(), 0..3),
    )
        .prop_map(move |(name, nullable, md)| {
            let mut f = StructField::new(name, t.clone(), nullable);
            f.metadata.extend(md);
            f
        })
}

fn data_type() -> impl Strategy<Value = DataType> {
    primitive().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), any::<bool>()).prop_map(|(e, n)| ArrayType::new(e, n).into()),
            (primitive(), inner.clone(), any::<bool>())
                .prop_map(|(k, v, n)| MapType::new(k, v, n).into()),
            proptest::collection::vec(inner.prop_flat_map(field), 1..4)
                .prop_map(|fs| StructType::new(fs).into()),
        ]
    })
}

fn schema() -> impl Strategy<Value = StructType> {
    proptest::collection::vec(data_type().prop_flat_map(field), 0..6).prop_map(StructType::new)
}

proptest! {
    #[test]
    fn json_round_trip(s in schema()) {
        prop_assert_eq!(StructType::from_json(&s.to_json()).unwrap(), s);
    }

    #[test]
    fn arrow_round_trip(s in schema()) {
        let arrow = s.to_arrow();
        prop_assert_eq!(StructType::from_arrow(&arrow).unwrap(), s.clone());
        // and Arrow -> Delta -> Arrow is the identity on canonical Arrow schemas
        prop_assert_eq!(StructType::from_arrow(&arrow).unwrap().to_arrow(), arrow);
    }
}
