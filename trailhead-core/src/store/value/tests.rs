use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Codec, Value};
use crate::CodecError;

/// Encodes `value`, decodes it, and checks it came back equal.
#[track_caller]
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
    let encoded = Value::encode(&value).unwrap_or_else(|error| panic!("{value:?}: {error}"));
    assert_eq!(encoded.codec(), Codec::Cbor);
    let back: T = encoded
        .decode()
        .unwrap_or_else(|error| panic!("{value:?} as {encoded}: {error}"));
    assert_eq!(back, value, "through {encoded:?}");
}

#[test]
fn floats_come_back_bit_for_bit() {
    let floats = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001), // a signalling NaN with a payload
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        0.1,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::from_bits(1), // the smallest subnormal
    ];
    for float in floats {
        let back: f64 = Value::encode(&float).unwrap().decode().unwrap();
        assert_eq!(back.to_bits(), float.to_bits(), "{float:?}");
    }
    for float in [f32::NAN, f32::INFINITY, -0.0_f32, 0.1_f32, f32::MAX] {
        let back: f32 = Value::encode(&float).unwrap().decode().unwrap();
        assert_eq!(back.to_bits(), float.to_bits(), "{float:?}");
    }
    let nested: Vec<Option<f64>> = Value::encode(&vec![Some(f64::NAN), None])
        .unwrap()
        .decode()
        .unwrap();
    assert!(nested[0].unwrap().is_nan());
    assert_eq!(nested[1], None);
}

#[test]
fn integers_keep_their_whole_range() {
    for n in [
        0,
        1,
        u128::from(u64::MAX),
        u128::from(u64::MAX) + 1,
        u128::MAX,
    ] {
        round_trip(n);
    }
    let edges = [
        i128::MIN,
        i128::from(i64::MIN) - 1,
        -(1_i128 << 64),
        -(1_i128 << 64) - 1,
        -1,
        0,
        i128::from(u64::MAX) + 1,
        i128::MAX,
    ];
    for n in edges {
        round_trip(n);
    }
    round_trip((u64::MAX, i64::MIN, u8::MAX, i8::MIN, u16::MAX, i32::MIN));
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle(u32),
    Line(Point, Point),
    Box { corner: Point, side: u32 },
}

#[test]
fn maps_take_any_key() {
    round_trip(HashMap::from([
        ((1_u32, 2_u32), "a".to_owned()),
        ((3, 4), "b".into()),
    ]));
    round_trip(BTreeMap::from([
        (Point { x: 1, y: -1 }, 1_u8),
        (Point { x: 0, y: 0 }, 2),
    ]));
    round_trip(BTreeMap::from([
        (Shape::Dot, 1_u8),
        (Shape::Circle(2), 2),
        (Shape::Line(Point { x: 0, y: 0 }, Point { x: 1, y: 1 }), 3),
        (
            Shape::Box {
                corner: Point { x: 2, y: 2 },
                side: 3,
            },
            4,
        ),
    ]));
    round_trip(BTreeMap::from([(u128::MAX, 'x'), (0, 'y')]));
    round_trip(BTreeMap::from([(vec![1_u8, 2], ()), (vec![], ())]));
    round_trip(BTreeMap::from([(true, -1_i64), (false, 1)]));
    round_trip(BTreeMap::from([(Some(1_u8), 1_u8), (None, 0)]));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Internal {
    Unit,
    Struct { a: u32, b: String },
    Newtype(Point),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Unit,
    Newtype(f64),
    Tuple(u8, String),
    Struct { big: u128 },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Number(i64),
    Text(String),
    Pair(bool, bool),
    Named { n: u8 },
}

#[test]
fn every_enum_shape_comes_back() {
    round_trip(vec![
        Shape::Dot,
        Shape::Circle(7),
        Shape::Line(Point { x: 1, y: 2 }, Point { x: 3, y: 4 }),
        Shape::Box {
            corner: Point { x: -1, y: -2 },
            side: 5,
        },
    ]);
    round_trip(vec![
        Internal::Unit,
        Internal::Struct {
            a: 1,
            b: "\0".into(),
        },
        Internal::Newtype(Point { x: 5, y: 6 }),
    ]);
    round_trip(vec![
        Adjacent::Unit,
        Adjacent::Newtype(-0.5),
        Adjacent::Tuple(9, "x".into()),
        // Adjacently tagged content is read in place, not through serde's buffer.
        Adjacent::Struct { big: u128::MAX },
    ]);
    round_trip(vec![
        Untagged::Number(-3),
        Untagged::Text("3".into()),
        Untagged::Pair(true, false),
        Untagged::Named { n: 1 },
    ]);
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Empty {}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EmptyTuple();

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Id(u64);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Flattened {
    id: Id,
    #[serde(flatten)]
    extra: BTreeMap<String, i32>,
}

#[test]
fn units_options_strings_and_bytes_come_back() {
    round_trip(());
    round_trip(Marker);
    round_trip(Empty {});
    round_trip(EmptyTuple());
    round_trip(Id(u64::MAX));
    round_trip(Some(Some(3_u8)));
    round_trip(None::<Option<u8>>);
    round_trip(Some(Some(Some(0_u8))));
    for c in ['a', '\0', 'é', '😀', '\u{10ffff}'] {
        round_trip(c);
    }
    round_trip("nul \0 inside, and \u{1} and \u{7f}".to_owned());
    // Longer than any fixed scratch buffer the decoder might use.
    round_trip("long ".repeat(2000));
    round_trip(String::from("x").repeat(600).into_boxed_str());
    round_trip(vec![0_u8, 1, 255]);
    round_trip(serde_bytes::ByteBuf::from(vec![0_u8, 1, 255]));
    round_trip(serde_bytes::ByteBuf::from(vec![7_u8; 100_000]));
    round_trip(serde_bytes::ByteBuf::new());
    round_trip(Flattened {
        id: Id(3),
        extra: BTreeMap::from([("a".into(), -1), ("b".into(), 2)]),
    });
    round_trip(std::time::Duration::new(5, 6));
    round_trip(serde_json::json!({ "a": [1, -2.5, null, "x", { "b": true }] }));
}

#[test]
fn byte_buffers_are_kept_as_bytes() {
    let bytes: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    let as_bytes = Value::encode(&serde_bytes::ByteBuf::from(bytes.clone())).unwrap();
    assert!(
        as_bytes.bytes().len() <= bytes.len() + 3,
        "a header and the bytes"
    );
    assert!(as_bytes.bytes().ends_with(&bytes));
    // A plain `Vec<u8>` is a sequence: one or two bytes per element.
    let as_seq = Value::encode(&bytes).unwrap();
    assert!(as_seq.bytes().len() > bytes.len() * 3 / 2);
}

#[test]
fn a_some_of_a_null_is_refused_as_it_would_read_back_as_none() {
    fn refused<T: Serialize + DeserializeOwned>(value: T) -> CodecError {
        let Err(error) = Value::encode(&value) else {
            panic!("{} should be refused", std::any::type_name::<T>());
        };
        assert!(matches!(error, CodecError::NullInSome { .. }), "{error}");
        error
    }
    let error = refused(Some(None::<u32>));
    assert_eq!(
        error.to_string(),
        "`core::option::Option<core::option::Option<u32>>` holds a `Some` of a value encoded as \
         null (such as `Some(None)` or `Some(())`), which would read back as `None`; use an enum \
         or a struct field instead"
    );
    refused(Some(()));
    refused(Some(Marker));
    refused(Some(Some(None::<u8>)));
    refused(vec![None, Some(None::<u8>)]);
    refused(BTreeMap::from([(1, Some(None::<u8>))]));
    refused(Some(serde_json::Value::Null));
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum MaybeUnit {
        Nothing,
        Number(u8),
    }
    refused(Some(MaybeUnit::Nothing));
    #[derive(Serialize, Deserialize)]
    struct Wrapped(Option<u8>);
    refused(Some(Wrapped(None)));
    // What reads back is not refused.
    round_trip(Some(Wrapped(Some(1))).map(|w| w.0));
    round_trip(Some(Empty {}));
    round_trip(Some(EmptyTuple()));
}

/// `levels` sequences, each holding the next.
fn nested(levels: usize) -> serde_json::Value {
    (0..levels).fold(serde_json::json!(0), |inner, _| serde_json::json!([inner]))
}

#[test]
fn values_nested_deeper_than_the_decoder_reads_are_refused() {
    let deepest = Value::encode(&nested(256)).unwrap();
    assert_eq!(deepest.decode::<serde_json::Value>().unwrap(), nested(256));
    let error = Value::encode(&nested(257)).unwrap_err();
    assert!(
        matches!(error, CodecError::TooDeep { limit: 256, .. }),
        "{error}"
    );

    // Enum variants count as the decoder counts them.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Chain {
        End,
        Next(Box<Chain>),
    }
    let chain = |links: usize| (0..links).fold(Chain::End, |c, _| Chain::Next(Box::new(c)));
    round_trip(chain(255));
    assert!(matches!(
        Value::encode(&chain(256)),
        Err(CodecError::TooDeep { .. })
    ));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Tagged {
    Amount { value: u128 },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    Big(i128),
}

#[test]
fn wide_integers_that_serde_cannot_buffer_are_refused() {
    let error = Value::encode(&Tagged::Amount { value: 7 }).unwrap_err();
    assert!(
        error.to_string().ends_with("u128 is not supported"),
        "{error}"
    );
    let error = Value::encode(&Tagged::Amount { value: u128::MAX }).unwrap_err();
    assert!(
        matches!(&error, CodecError::WouldNotReadBack { ty, .. } if ty.ends_with("Tagged")),
        "{error}"
    );
    // Whatever its value: serde's buffer takes no 128-bit integer at all.
    assert!(matches!(
        Value::encode(&Loose::Big(-5)),
        Err(CodecError::WouldNotReadBack { .. })
    ));
    assert!(matches!(
        Value::encode(&Loose::Big(i128::MIN)),
        Err(CodecError::WouldNotReadBack { .. })
    ));
    assert!(matches!(
        Value::encode(&Loose::Big(-(1 << 64))),
        Err(CodecError::WouldNotReadBack { .. })
    ));
}

#[test]
fn a_serialize_error_is_reported_with_the_type() {
    #[derive(Deserialize)]
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not today"))
        }
    }
    let error = Value::encode(&Refuses).unwrap_err();
    assert!(
        matches!(&error, CodecError::Serialize { message, .. } if message == "not today"),
        "{error}"
    );
    assert!(error.to_string().contains("Refuses"), "{error}");
}

#[test]
fn a_value_that_no_longer_fits_its_type_fails_to_decode_naming_both() {
    let value = Value::encode(&Point { x: 1, y: 2 }).unwrap();
    let error = value.decode::<Shape>().unwrap_err();
    let CodecError::Decode { ty, codec, .. } = &error else {
        panic!("{error}");
    };
    assert!(ty.ends_with("Shape"));
    assert_eq!(*codec, Codec::Cbor);
    assert!(
        error
            .to_string()
            .starts_with("the journaled CBOR value does not read as `")
    );
    assert!(value.decode::<u8>().is_err());
    // Narrower numbers are refused, not wrapped.
    assert!(Value::encode(&300_u32).unwrap().decode::<u8>().is_err());

    let mut damaged = Value::encode(&"text".to_owned()).unwrap().into_bytes();
    damaged.pop();
    let damaged = Value::from_bytes(Codec::Cbor, damaged);
    assert!(damaged.decode::<String>().is_err());
    let mut trailing = Value::encode(&1_u8).unwrap().into_bytes();
    trailing.push(0);
    let error = Value::from_bytes(Codec::Cbor, trailing)
        .decode::<u8>()
        .unwrap_err();
    assert!(
        error.to_string().ends_with("1 bytes after the value"),
        "{error}"
    );
}

#[test]
fn json_values_of_older_builds_read_as_before() {
    let old = Value::from_bytes(Codec::Json, br#"{"x":1,"y":-2}"#.to_vec());
    assert_eq!(old.decode::<Point>().unwrap(), Point { x: 1, y: -2 });
    assert_eq!(old.to_string(), r#"{"x":1,"y":-2}"#);
    assert_eq!(format!("{old:?}"), r#"Json({"x":1,"y":-2})"#);
    assert_eq!(old.to_json(), serde_json::json!({ "x": 1, "y": -2 }));
    let error = old.decode::<Shape>().unwrap_err();
    assert!(matches!(
        error,
        CodecError::Decode {
            codec: Codec::Json,
            ..
        }
    ));
}

#[test]
fn values_show_readably() {
    #[derive(Serialize, Deserialize)]
    struct Reading {
        id: u32,
        score: f64,
        low: f64,
        raw: serde_bytes::ByteBuf,
        by_cell: BTreeMap<(u8, u8), i8>,
        big: u128,
        small: i128,
        note: Option<String>,
        shape: Shape,
    }
    let value = Value::encode(&Reading {
        id: 7,
        score: f64::NAN,
        low: f64::NEG_INFINITY,
        raw: serde_bytes::ByteBuf::from(vec![0, 0xff]),
        by_cell: BTreeMap::from([((1, 2), -1)]),
        big: u128::MAX,
        small: i128::MIN,
        note: None,
        shape: Shape::Circle(2),
    })
    .unwrap();
    let shown = "{\"id\": 7, \"score\": NaN, \"low\": -Infinity, \"raw\": h'00ff', \
                 \"by_cell\": {[1, 2]: -1}, \"big\": 340282366920938463463374607431768211455, \
                 \"small\": -170141183460469231731687303715884105728, \"note\": null, \
                 \"shape\": {\"Circle\": 2}}";
    assert_eq!(value.to_string(), shown);
    assert_eq!(format!("{value:?}"), format!("Cbor({shown})"));
    assert_eq!(
        value.to_json(),
        serde_json::json!({
            "id": 7, "score": "NaN", "low": "-Infinity", "raw": "h'00ff'",
            "by_cell": { "[1, 2]": -1 },
            "big": "340282366920938463463374607431768211455",
            "small": "-170141183460469231731687303715884105728",
            "note": null, "shape": { "Circle": 2 },
        })
    );
    assert_eq!(Value::encode(&1.0_f64).unwrap().to_string(), "1.0");
    assert_eq!(
        Value::encode(&"a\"\0".to_owned()).unwrap().to_string(),
        r#""a\"\u0000""#
    );

    // Long byte strings are cut short, unless all are asked for.
    let long = Value::encode(&serde_bytes::ByteBuf::from(vec![0xab; 1000])).unwrap();
    assert_eq!(
        long.to_string(),
        format!("h'{}…' /1000 bytes/", "ab".repeat(32))
    );
    assert_eq!(format!("{long:#}"), format!("h'{}'", "ab".repeat(1000)));
    assert_eq!(
        Value::from_bytes(Codec::Cbor, vec![0x18]).to_string(),
        "<malformed CBOR (the value ends early): h'18'>"
    );
}

#[test]
fn an_entry_wraps_a_value_without_decoding_it() {
    let inner = Value::encode(&BTreeMap::from([((1, 2), f64::NAN)])).unwrap();
    for key in ["Completed", "k", &"long key ".repeat(3), &"x".repeat(300)] {
        let entry = Value::entry(key, &inner);
        assert_eq!(entry.codec(), Codec::Cbor);
        let (found, value) = Value::split_entry(entry.codec(), entry.bytes()).unwrap();
        assert_eq!((found.as_ref(), &value), (key, &inner));
        // The entry is CBOR of its own: a map of one entry.
        let decoded: BTreeMap<String, BTreeMap<(u8, u8), f64>> = entry.decode().unwrap();
        assert!(decoded[key][&(1, 2)].is_nan());
    }
    let old = Value::from_bytes(Codec::Json, b"[1,2]".to_vec());
    let entry = Value::entry("received", &old);
    assert_eq!(entry.bytes(), br#"{"received":[1,2]}"#);
    let (key, value) = Value::split_entry(Codec::Json, entry.bytes()).unwrap();
    assert_eq!((key.as_ref(), value), ("received", old));
    // Not an entry: no split.
    let two = Value::encode(&BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)])).unwrap();
    assert!(Value::split_entry(Codec::Cbor, two.bytes()).is_none());
    assert!(Value::split_entry(Codec::Cbor, Value::encode(&1_u8).unwrap().bytes()).is_none());
    assert!(Value::split_entry(Codec::Json, b"{}").is_none());
}

#[test]
fn a_value_inside_another_serde_value_keeps_codec_and_bytes() {
    let value = Value::encode(&(f64::NAN, u128::MAX)).unwrap();
    let json = serde_json::to_value(&value).unwrap();
    assert_eq!(json["codec"], "cbor");
    assert_eq!(
        json["shown"],
        serde_json::json!(["NaN", u128::MAX.to_string()])
    );
    assert_eq!(serde_json::from_value::<Value>(json).unwrap(), value);
    let mut cbor = Vec::new();
    ciborium::into_writer(&value, &mut cbor).unwrap();
    assert_eq!(ciborium::from_reader::<Value, _>(&cbor[..]).unwrap(), value);
    let bad = serde_json::json!({ "codec": "xml", "hex": "00" });
    assert!(serde_json::from_value::<Value>(bad).is_err());
}
